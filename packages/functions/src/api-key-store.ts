import { GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { apiKeyRecordSchema, type ApiKeyRecord, type ApiKeyStore } from '@snowgate/core';

/** The SSM path of a stage's API key records: one parameter per key, named by its id. */
export function apiKeyParameterPrefix(stage: string): string {
  return `/snowgate/${stage}/api-keys/`;
}

/**
 * API key records in SSM Parameter Store, as plain `String` parameters: a record
 * holds a SHA-256 of a 256-bit random secret, a producer name and a flag, nothing
 * secret, so no KMS key is needed to read it.
 */
export function ssmApiKeyStore(ssm: SSMClient, prefix: string): ApiKeyStore {
  return {
    async get(keyId) {
      try {
        const out = await ssm.send(new GetParameterCommand({ Name: `${prefix}${keyId}` }));
        return apiKeyRecordSchema.parse(JSON.parse(out.Parameter?.Value ?? 'null'));
      } catch (error) {
        if ((error as Error).name === 'ParameterNotFound') return undefined;
        throw error;
      }
    },
    async put(record: ApiKeyRecord) {
      await ssm.send(
        new PutParameterCommand({
          Name: `${prefix}${record.key_id}`,
          Value: JSON.stringify(record),
          Type: 'String',
          Overwrite: true,
          Description: `Snowgate API key of ${record.producer}`,
        }),
      );
    },
    async list() {
      const records: ApiKeyRecord[] = [];
      let token: string | undefined;
      do {
        const page = await ssm.send(new GetParametersByPathCommand({ Path: prefix, NextToken: token }));
        for (const p of page.Parameters ?? []) records.push(apiKeyRecordSchema.parse(JSON.parse(p.Value ?? 'null')));
        token = page.NextToken;
      } while (token);
      return records;
    },
  };
}
