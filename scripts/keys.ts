/**
 * `pnpm keys`: API keys for producers (stage auth mode `apiKey`).
 *
 *   pnpm keys create --producer acme-web            # the local twin (its data dir, .snowgate by default)
 *   pnpm keys list
 *   pnpm keys revoke --key-id k3x9…                 # or --key sg_…
 *   pnpm keys enable --key-id k3x9…                 # a revoked key works again
 *   pnpm keys create --stage dev --producer acme-web   # a deployed stage: SSM Parameter Store
 *
 * The key is printed once, on create, and never stored: the store keeps its
 * SHA-256. Revoking keeps the record (enabled: false, revoked_at) for the audit
 * trail; nothing is deleted.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { apiKeyId, generateApiKey, loadStageConfig, producerNameSchema, type ApiKeyStore } from '@snowgate/core';
import { apiKeyParameterPrefix, ssmApiKeyStore } from '@snowgate/functions/api-key-store';
import { fileApiKeyStore } from '@snowgate/twin';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

class UsageError extends Error {}

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string', default: 'local' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      region: { type: 'string' },
      producer: { type: 'string' },
      'key-id': { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [command] = positionals;
  const stage = values.stage!;
  let store: ApiKeyStore;
  let where: string;
  let ssm: SSMClient | undefined;
  if (stage === 'local') {
    const dataDir = resolve(values['data-dir'] ?? process.env.SNOWGATE_DATA_DIR ?? '.snowgate');
    store = fileApiKeyStore(dataDir);
    where = `the local twin (${dataDir}/api-keys)`;
  } else {
    ssm = new SSMClient(values.region ? { region: values.region } : {});
    store = ssmApiKeyStore(ssm, apiKeyParameterPrefix(stage));
    where = `stage ${stage} (SSM ${apiKeyParameterPrefix(stage)})`;
  }
  const auth = loadStageConfig(stage, undefined, values.config && resolve(values.config)).auth;
  const note = auth.mode === 'apiKey' ? '' : `\nNote: stage ${stage}'s auth mode is "${auth.mode}": keys are not checked until config/${stage}.json sets {"auth": {"mode": "apiKey"}}.`;
  try {
    if (command === 'create') {
      const producer = producerNameSchema.safeParse(values.producer);
      if (!producer.success) throw new UsageError(`--producer <name> is required: ${producer.error.issues[0]?.message}`);
      const { key, record } = generateApiKey(producer.data);
      await store.put(record);
      if (values.json) console.log(JSON.stringify({ key, key_id: record.key_id, producer: record.producer }));
      else {
        console.error(`Created key ${record.key_id} for ${record.producer} in ${where}. It is shown once; keep it in your secret store:${note}`);
        console.log(key);
      }
    } else if (command === 'list') {
      const records = (await store.list()).sort((a, b) => a.created_at.localeCompare(b.created_at));
      if (values.json) console.log(JSON.stringify(records.map(({ sha256: _, ...r }) => r), null, 2));
      else {
        console.error(`${records.length} key(s) in ${where}${note}`);
        console.table(records.map((r) => ({ key_id: r.key_id, producer: r.producer, enabled: r.enabled, created_at: r.created_at, revoked_at: r.revoked_at ?? '' })));
      }
    } else if (command === 'revoke') {
      const keyId = values['key-id'] ?? (values.key ? apiKeyId(values.key) : undefined);
      if (!keyId) throw new UsageError('revoke takes --key-id <id> (see pnpm keys list) or --key <the key>');
      const record = await store.get(keyId);
      if (!record) throw new UsageError(`no key ${keyId} in ${where}`);
      if (!record.enabled) console.error(`Key ${keyId} (${record.producer}) was already revoked at ${record.revoked_at}.`);
      else {
        await store.put({ ...record, enabled: false, revoked_at: new Date().toISOString() });
        console.error(
          `Revoked key ${keyId} (${record.producer}) in ${where}.${stage === 'local' ? '' : ` Requests with it stop within the authorizer's caches: up to ${auth.mode === 'apiKey' ? auth.cacheSeconds : 300} s (API Gateway) + 60 s (the function).`}`,
        );
      }
    } else if (command === 'enable') {
      const keyId = values['key-id'] ?? (values.key ? apiKeyId(values.key) : undefined);
      if (!keyId) throw new UsageError('enable takes --key-id <id> (see pnpm keys list) or --key <the key>');
      const record = await store.get(keyId);
      if (!record) throw new UsageError(`no key ${keyId} in ${where}`);
      const { revoked_at: _, ...rest } = record;
      await store.put({ ...rest, enabled: true });
      console.error(`Enabled key ${keyId} (${record.producer}) in ${where}.`);
    } else {
      throw new UsageError('usage: pnpm keys create --producer <name> | list | revoke --key-id <id> | enable --key-id <id>  [--stage <stage>] [--data-dir <dir>]');
    }
  } finally {
    ssm?.destroy();
  }
} catch (error) {
  console.error(`keys: ${(error as Error).message}`);
  process.exit(error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
}
