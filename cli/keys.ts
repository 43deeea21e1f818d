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
import { apiKeyId, generateApiKey, normalizeOrigin, producerNameSchema, type ApiKeyStore } from '@snowgate/core';
import { toolEnv, twinDataDir } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import { apiKeyParameterPrefix, ssmApiKeyStore } from '@snowgate/functions/api-key-store';
import { fileApiKeyStore } from '@snowgate/twin';
import { resolve } from 'node:path';
import { parseArguments, UsageError } from './args';

const COMMON = `  --stage <stage>      local (default): the local twin; another stage: its SSM Parameter Store
  --data-dir <dir>     stage local: the twin's data dir (default $SNOWGATE_DATA_DIR or .snowgate)
  --config <file>      the stage config to read the auth mode from (stage local: as pnpm start --config;
                       default $SNOWGATE_TWIN_CONFIG or config/<stage>.json)
  --region <region>    a deployed stage's AWS region (default: the AWS SDK's)
  --json               machine-readable output on stdout
  -h, --help           this help`;

const USAGE: Record<string, string> = {
  '': `Usage: pnpm keys <command> [options]

API keys for producers, checked when the stage's auth mode is apiKey. A key is
printed once, on create; the store keeps only its SHA-256.

Commands:
  create --producer <name>            create a key for a producer and print it (stdout)
  list                                the keys: id, producer, enabled, created, revoked
  revoke --key-id <id> | --key <key>  disable a key (its record stays, for the audit trail)
  enable --key-id <id> | --key <key>  a revoked key works again

Options:
${COMMON}

Examples:
  pnpm keys create --producer acme-web                  # the local twin in .snowgate
  pnpm keys revoke --stage dev --key-id k3x9abcdefgh    # a deployed stage

pnpm keys <command> --help shows one command's options.`,
  create: `Usage: pnpm keys create --producer <name> [options]

Creates a key for a producer and prints it once, on stdout (messages go to stderr).

  --producer <name>    the producer the key stands for: it lands in every envelope
  --allowed-origin <o> a browser key: only pages of this origin may use it (repeatable;
                       https://shop.example). Such a key works on the SDK routes only
${COMMON}

Example:
  KEY=$(pnpm -s keys create --producer acme-web)
  pnpm keys create --producer web --allowed-origin https://shop.example`,
  list: `Usage: pnpm keys list [options]

Lists the keys (never the keys themselves): id, producer, enabled, created, revoked.

${COMMON}

Example:
  pnpm keys list --stage dev --json`,
  revoke: `Usage: pnpm keys revoke (--key-id <id> | --key <key>) [options]

Disables a key; its record stays (enabled: false, revoked_at).

  --key-id <id>        the key's id (pnpm keys list)
  --key <key>          or the key itself (sg_…)
${COMMON}

Example:
  pnpm keys revoke --key-id k3x9abcdefgh`,
  enable: `Usage: pnpm keys enable (--key-id <id> | --key <key>) [options]

Makes a revoked key work again.

  --key-id <id>        the key's id (pnpm keys list)
  --key <key>          or the key itself (sg_…)
${COMMON}

Example:
  pnpm keys enable --key-id k3x9abcdefgh`,
};

try {
  const { values, positionals } = parseArguments({
    allowPositionals: true,
    strict: true,
    options: {
      stage: { type: 'string', default: 'local' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      region: { type: 'string' },
      producer: { type: 'string' },
      'allowed-origin': { type: 'string', multiple: true },
      'key-id': { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [command = '', ...extra] = positionals;
  if (values.help) {
    console.log(USAGE[command] ?? USAGE['']);
    process.exit(0);
  }
  if (command === '') {
    console.error(USAGE['']);
    process.exit(2);
  }
  if (!(command in USAGE)) throw new UsageError(`unknown command ${command}: create, list, revoke or enable (pnpm keys --help)`);
  if (extra.length) throw new UsageError(`unexpected argument ${extra[0]} (pnpm keys ${command} --help)`);
  const stage = values.stage!;
  let store: ApiKeyStore;
  let where: string;
  let ssm: SSMClient | undefined;
  if (stage === 'local') {
    const dataDir = twinDataDir(values['data-dir']);
    store = fileApiKeyStore(dataDir);
    where = `the local twin (${dataDir}/api-keys)`;
  } else {
    ssm = new SSMClient(values.region ? { region: values.region } : {});
    store = ssmApiKeyStore(ssm, apiKeyParameterPrefix(stage));
    where = `stage ${stage} (SSM ${apiKeyParameterPrefix(stage)})`;
  }
  // The stage config as the twin (stage local: --config or SNOWGATE_TWIN_CONFIG) or sst deploy reads it.
  const configFile = values.config ?? (stage === 'local' ? toolEnv().twinConfig : undefined);
  const auth = loadStageConfig(stage, undefined, configFile && resolve(configFile)).auth;
  const configName = configFile ?? `config/${stage}.json`;
  const note =
    auth.mode === 'apiKey'
      ? ''
      : stage === 'local'
        ? `\nNote: the twin's stage config (${configName}) has auth mode "${auth.mode}", so the twin checks no keys: it takes unsigned requests. It checks them when run with a stage config that sets {"auth": {"mode": "apiKey"}}: pnpm start --config <file> (and pnpm keys … --config <file>).`
        : `\nNote: stage ${stage}'s auth mode is "${auth.mode}" (${configName}): keys are not checked until it sets {"auth": {"mode": "apiKey"}} and is deployed.`;
  try {
    if (command === 'create') {
      const producer = producerNameSchema.safeParse(values.producer);
      if (!producer.success) throw new UsageError(`--producer <name> is required: ${producer.error.issues[0]?.message}`);
      const origins = values['allowed-origin'] ?? [];
      const bad = origins.find((o) => normalizeOrigin(o) === undefined);
      if (bad !== undefined) throw new UsageError(`--allowed-origin ${bad} is not an origin: scheme and host, e.g. https://shop.example`);
      const { key, record } = generateApiKey(producer.data, new Date(), origins);
      await store.put(record);
      if (values.json) console.log(JSON.stringify({ key, key_id: record.key_id, producer: record.producer }));
      else {
        console.error(
          `Created key ${record.key_id} for ${record.producer} in ${where}. It is shown once; keep it in your secret store:${note}`,
        );
        console.log(key);
      }
    } else if (command === 'list') {
      const records = (await store.list()).sort((a, b) => a.created_at.localeCompare(b.created_at));
      if (values.json)
        console.log(
          JSON.stringify(
            records.map(({ sha256: _, ...r }) => r),
            null,
            2,
          ),
        );
      else {
        console.error(`${records.length} key(s) in ${where}${note}`);
        if (records.length === 0) console.log('No keys yet: pnpm keys create --producer <name> makes one.');
        else
          console.table(
            records.map((r) => ({
              key_id: r.key_id,
              producer: r.producer,
              enabled: r.enabled,
              created_at: r.created_at,
              revoked_at: r.revoked_at ?? '',
            })),
          );
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
    }
  } finally {
    ssm?.destroy();
  }
} catch (error) {
  // A malformed command line (parseArguments) names the argument; a wrong command or value says what to do itself.
  const hint = error instanceof UsageError && error.parserMessage !== undefined ? ' (pnpm keys --help lists the options)' : '';
  console.error(`keys: ${(error as Error).message}${hint}`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
