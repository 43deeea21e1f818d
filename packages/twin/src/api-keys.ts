import { API_KEY_ID, apiKeyRecordSchema, type ApiKeyRecord, type ApiKeyStore } from '@snowgate/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonDurably } from './durable-file';

/** Where the twin keeps its API key records: the same records SSM holds for a deployed stage, one file each. */
export function apiKeysDir(dataDir: string): string {
  return join(dataDir, 'api-keys');
}

/** The twin's key store, under its data dir. Key ids are checked against `API_KEY_ID`, so no path escapes the directory. */
export function fileApiKeyStore(dataDir: string): ApiKeyStore {
  const dir = apiKeysDir(dataDir);
  return {
    async get(keyId) {
      if (!API_KEY_ID.test(keyId)) return undefined;
      const value = readJson<unknown>(join(dir, `${keyId}.json`));
      return value === undefined ? undefined : apiKeyRecordSchema.parse(value);
    },
    async put(record: ApiKeyRecord) {
      mkdirSync(dir, { recursive: true });
      writeJsonDurably(join(dir, `${record.key_id}.json`), apiKeyRecordSchema.parse(record), 2);
    },
    async list() {
      let names: string[];
      try {
        names = readdirSync(dir).filter((n) => n.endsWith('.json') && API_KEY_ID.test(n.slice(0, -5)));
      } catch {
        return [];
      }
      return names.map((n) => apiKeyRecordSchema.parse(readJson<unknown>(join(dir, n))));
    },
  };
}

type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
type Authorize = (event: Pick<APIGatewayRequestAuthorizerEventV2, 'headers' | 'requestContext'>) => Promise<{ isAuthorized: boolean; context?: object }>;

/**
 * What API Gateway does in front of a route with a Lambda authorizer (simple
 * responses): `401 Unauthorized` when the identity source (the key header) is
 * absent, without calling the authorizer; `403 Forbidden` when it says no;
 * otherwise the route's handler, with the authorizer's context in
 * `requestContext.authorizer.lambda`. (API Gateway also caches each answer by the
 * header's value; the twin asks every time, so revocation is immediate here.)
 */
export function withLambdaAuthorizer(handler: LambdaHandler, header: string, authorize: Authorize): LambdaHandler {
  const refuse = (statusCode: number, message: string): APIGatewayProxyStructuredResultV2 => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
  return async (event, context) => {
    const presented = event.headers?.[header];
    if (presented === undefined || presented === '') return refuse(401, 'Unauthorized');
    const answer = await authorize({ headers: event.headers, requestContext: event.requestContext as unknown as APIGatewayRequestAuthorizerEventV2['requestContext'] });
    if (!answer.isAuthorized) return refuse(403, 'Forbidden');
    const requestContext = { ...event.requestContext, authorizer: { lambda: answer.context ?? {} } } as APIGatewayProxyEventV2['requestContext'];
    return handler({ ...event, requestContext }, context);
  };
}
