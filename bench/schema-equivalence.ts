/**
 * The runtime schemas of this checkout against another's (the code before a
 * change to them, e.g. the move to zod/mini), on the same inputs: whether each
 * input is accepted, the parsed data, and every issue (code, path, message);
 * then whole requests through `assessRequest` (statuses, reasons, messages,
 * issues, envelopes) and the environment readers (their `ConfigError` texts).
 * Any difference is printed and the exit status is 1.
 *
 *   pnpm tsx bench/schema-equivalence.ts --baseline /tmp/base [--runs 2000]
 *
 * Each checkout is run in a process of its own, which loads only its core and
 * the Lambda's configuration modules: zod keeps its configuration (the
 * messages' locale) in a global, so classic zod loaded beside zod/mini would
 * set the English messages for both and hide a missing locale. Both processes
 * generate the same inputs (fixed seed); this one compares what they print.
 */
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommandLine, UsageError } from '../cli/args';

const USAGE = `Usage: pnpm tsx bench/schema-equivalence.ts --baseline DIR [--runs N]

Compares this checkout's runtime schemas, assessRequest and environment readers
with those of the checkout in DIR on the same generated inputs; prints every
difference and exits 1 if there is one.

Options:
  --baseline DIR   the other checkout (installed)
  --runs N         generated inputs per schema (default 2000)
  -h, --help       print this help`;

const { values } = parseCommandLine('bench/schema-equivalence.ts', USAGE, {
  // --side DIR: the child that runs one checkout's code and prints its outcomes.
  options: { baseline: { type: 'string' }, runs: { type: 'string', default: '2000' }, side: { type: 'string' } },
});
const runs = Number(values.runs);
if (!values.side) {
  if (!values.baseline) throw new UsageError('--baseline DIR is required');
  const base = resolve(values.baseline);
  if (!existsSync(join(base, 'packages/core/src/index.ts')))
    throw new UsageError(`--baseline ${values.baseline}: no packages/core/src/index.ts there`);
  const side = (root: string): Array<{ what: string; input: string; outcome: string }> =>
    JSON.parse(
      execFileSync(process.execPath, [...process.execArgv, import.meta.filename, '--side', root, '--runs', String(runs)], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      }),
    );
  const [mine, theirs] = [side(resolve(import.meta.dirname, '..')), side(base)];
  if (mine.length !== theirs.length) throw new Error(`the two sides compared ${mine.length} and ${theirs.length} inputs`);
  const differences = mine.filter((m, i) => m.what !== theirs[i]!.what || m.input !== theirs[i]!.input || m.outcome !== theirs[i]!.outcome);
  for (const [i, d] of differences.slice(0, 50).entries())
    console.log(`${d.what}: ${d.input}\n  this:     ${d.outcome}\n  baseline: ${theirs[mine.indexOf(differences[i]!)]!.outcome}`);
  const counts = new Map<string, number>();
  for (const { what } of mine) counts.set(what, (counts.get(what) ?? 0) + 1);
  console.log(
    `${mine.length} inputs compared (${[...counts].map(([what, n]) => `${what} ${n}`).join(', ')}), ${differences.length} differences`,
  );
  process.exit(differences.length ? 1 : 0);
}

// What is used of a checkout's modules. They are loaded at run time from either
// checkout (classic zod or zod/mini), so they are typed by that use, not by an import.
type Issue = { code: string; path: PropertyKey[]; message: string };
type SafeParse = { success: true; data: unknown } | { success: false; error: { issues: Issue[] } };
type Schema = { parse(input: unknown): unknown; safeParse(input: unknown): SafeParse };
type EnvReader = (env: Record<string, string | undefined>) => unknown;
type Core = Record<
  | 'recordIdSchema'
  | 'eventRecordSchema'
  | 'envelopeSchema'
  | 'quarantineObjectSchema'
  | 'ingestResponseSchema'
  | 'apiKeyRecordSchema'
  | 'producerNameSchema'
  | 'contractSettingsSchema'
  | 'limitsSchema',
  Schema
> & { assessRequest(request: unknown, limits: unknown): unknown };
type Settings = Record<'writePolicySchema' | 'ingestSettingsSchema', Schema>;
type Env = { authorizerEnvSchema: Schema; ingestFunctionEnv: EnvReader; authorizerSettingsFromEnv: EnvReader; twinEnv: EnvReader };
type StageConfigModule = { parseStageConfig(input: unknown): unknown };
const load = async (root: string) => ({
  core: (await import(join(root, 'packages/core/src/index.ts'))) as Core,
  settings: (await import(join(root, 'packages/config/src/settings.ts'))) as Settings,
  env: (await import(join(root, 'packages/config/src/env.ts'))) as Env,
});
const code = await load(resolve(values.side));

/** What a parse says, in a comparable form. */
function outcome(schema: Schema, input: unknown) {
  const result = schema.safeParse(input);
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, issues: result.error.issues.map((i) => ({ code: i.code, path: i.path.map(String), message: i.message })) };
}
function replacer(_key: string, value: unknown) {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Date) return `Date(${value.toISOString()})`;
  if (value === undefined) return '(undefined)';
  return value;
}

const outcomes: Array<{ what: string; input: string; outcome: string }> = [];
function note(what: string, input: unknown, result: unknown) {
  outcomes.push({ what, input: JSON.stringify(input, replacer), outcome: JSON.stringify(result, replacer) });
}
function thrown(f: () => unknown) {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error) };
  }
}

// Values that sit on and around each schema's edges, mixed with anything at all.
const edgy = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    '',
    ' ',
    '\t',
    'x',
    'abc',
    '0',
    '1',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    ' 42 ',
    'NaN',
    'Infinity',
    'true',
    '10000',
    '10001',
    '3600',
    '3601',
    '25000',
    '25001',
    '1000',
    '1001',
    '1100',
    '1101',
    '1048575',
    '1048576',
    '6291456',
    '6291457',
    '67108864',
    '67108865',
    0,
    -0,
    1,
    -1,
    1.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    true,
    false,
    [],
    {},
    'errors/',
    'errors',
    'a/b/',
    'replays/',
    '/snowgate/dev/api-keys/',
    'x-api-key',
    'X-Api-Key',
    'https://example.com',
    'http://localhost:4567',
    'not a url',
    '2026-12-04T01:02:03.456Z',
    '2026-12-04T01:02:03Z',
    '2026-12-04',
    'off',
    'warn',
    'enforce',
    'accept',
    'reject',
    'latest',
    'unknown',
    'type',
    'meta.type',
    '__proto__',
    'a.__proto__',
    '1type',
    'snowgate.api-key/v1',
    'snowgate.quarantine/v1',
    'abcdefghij12',
    'ABCDEFGHIJ12',
    'a'.repeat(64),
    'a'.repeat(65),
    'a'.repeat(256),
    'a'.repeat(257),
    '0123456789abcdef'.repeat(4),
    'utf8',
    'base64',
    'not_json',
    'missing_id',
  ),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -5, max: 70_000_000 }),
  fc.double(),
  fc.anything({ maxDepth: 2 }),
);
/** An object like `shape` (valid values), some keys dropped or given edgy values, sometimes an extra key. */
const around = (shape: Record<string, unknown>) =>
  fc.oneof(
    fc.constant(shape),
    fc
      .record(Object.fromEntries(Object.keys(shape).map((k) => [k, fc.oneof(fc.constant(shape[k]), fc.constant(shape[k]), edgy)])), {
        requiredKeys: [],
      })
      .chain((o) =>
        fc.oneof(
          fc.constant(o),
          edgy.map((v) => ({ ...o, extra: v })),
        ),
      ),
    edgy,
  );
const sample = <T>(arb: fc.Arbitrary<T>) => fc.sample(arb, { numRuns: runs, seed: 20261204 });

const validQuarantine = {
  schema: 'snowgate.quarantine/v1',
  request_id: 'r',
  received_at: '2026-12-04T01:02:03.456Z',
  status: 422,
  reasons: ['missing_id'],
  headers: { 'content-type': 'application/json' },
  accepted: 0,
  rejected: 1,
  records: [
    {
      index: 0,
      reason: 'missing_id',
      message: 'record 0 has no id',
      issues: [{ path: ['id'], message: 'x' }],
      input: { encoding: 'utf8', size: 2, truncated: false, data: '{}' },
    },
  ],
};
const schemas: Array<[name: string, pick: (m: Awaited<ReturnType<typeof load>>) => Schema, fc.Arbitrary<unknown>]> = [
  ['recordIdSchema', (m) => m.core.recordIdSchema, edgy],
  ['eventRecordSchema', (m) => m.core.eventRecordSchema, around({ id: 'a', type: 'x' })],
  [
    'envelopeSchema',
    (m) => m.core.envelopeSchema,
    around({ received_at: '2026-12-04T01:02:03.456Z', request_id: 'r', producer: 'p', record: { id: 1, x: 2 } }),
  ],
  ['quarantineObjectSchema', (m) => m.core.quarantineObjectSchema, around(validQuarantine)],
  [
    'quarantine input',
    (m) => m.core.quarantineObjectSchema,
    around(validQuarantine.records[0]!.input).map((input) => ({ ...validQuarantine, body: input })),
  ],
  [
    'ingestResponseSchema',
    (m) => m.core.ingestResponseSchema,
    around({ requestId: 'r', accepted: 1, rejected: 0, errors: [{ index: null, reason: 'x', message: 'y' }], warnings: [] }),
  ],
  [
    'apiKeyRecordSchema',
    (m) => m.core.apiKeyRecordSchema,
    around({
      schema: 'snowgate.api-key/v1',
      key_id: 'abcdefghij12',
      producer: 'shop',
      sha256: '0123456789abcdef'.repeat(4),
      enabled: true,
      created_at: '2026-12-04T01:02:03.456Z',
      revoked_at: '2026-12-04T01:02:03.456Z',
    }),
  ],
  ['producerNameSchema', (m) => m.core.producerNameSchema, edgy],
  [
    'contractSettingsSchema',
    (m) => m.core.contractSettingsSchema,
    around({ mode: 'warn', typeField: 'type', versionField: 'meta.v', unknown: 'reject', missingVersion: 'unknown' }),
  ],
  [
    'limitsSchema',
    (m) => m.core.limitsSchema,
    around({
      maxBodyBytes: 1000,
      maxRecordBytes: 1000,
      maxRecordsPerRequest: 10,
      maxDepth: 5,
      maxInflateRatio: 10,
      quarantineMaxInputBytes: 100,
    }),
  ],
  [
    'writePolicySchema',
    (m) => m.settings.writePolicySchema,
    around({ budgetMs: 100, baseDelayMs: 5, maxDelayMs: 50, retryAfterSeconds: 2 }),
  ],
  [
    'ingestSettingsSchema',
    (m) => m.settings.ingestSettingsSchema,
    around({
      streamName: 's',
      errorBucket: 'bucket',
      errorPrefix: 'e/',
      region: 'eu-west-1',
      kinesisEndpoint: 'http://localhost:1',
      s3Endpoint: 'http://localhost:2',
      limits: {},
      write: {},
      contracts: {},
      schemasDir: 'schemas',
    }),
  ],
  [
    'authorizerEnvSchema',
    (m) => m.env.authorizerEnvSchema,
    around({
      SNOWGATE_API_KEYS_PREFIX: '/snowgate/dev/api-keys/',
      SNOWGATE_API_KEY_HEADER: 'x-api-key',
      SNOWGATE_API_KEYS_CACHE_SECONDS: '30',
    }),
  ],
];
for (const [name, pick, arb] of schemas) {
  for (const input of sample(arb)) note(name, input, outcome(pick(code), input));
}

// The environment readers, with every variable a string as in process.env.
const asEnv = (o: unknown) =>
  Object.fromEntries(
    Object.entries(o && typeof o === 'object' ? o : {}).map(([k, v]) => [
      k,
      v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v),
    ]),
  );
const ingestEnv = around({
  SNOWGATE_STREAM_NAME: 'events',
  SNOWGATE_ERROR_BUCKET: 'errors',
  SNOWGATE_MAX_DEPTH: '10',
  SNOWGATE_WRITE_BUDGET_MS: '500',
  SNOWGATE_CONTRACTS_MODE: 'warn',
  SNOWGATE_CONTRACTS_TYPE_FIELD: 'kind',
  SNOWGATE_KINESIS_ENDPOINT: 'http://localhost:4567',
  SNOWGATE_STAGE: 'dev',
  SNOWGATE_TYPO: 'x',
}).map(asEnv);
for (const env of sample(ingestEnv))
  note(
    'ingestFunctionEnv',
    env,
    thrown(() => code.env.ingestFunctionEnv(env)),
  );
const authEnv = around({
  SNOWGATE_API_KEYS_PREFIX: '/snowgate/dev/api-keys/',
  SNOWGATE_API_KEY_HEADER: 'x-api-key',
  SNOWGATE_API_KEYS_CACHE_SECONDS: '30',
}).map(asEnv);
for (const env of sample(authEnv))
  note(
    'authorizerSettingsFromEnv',
    env,
    thrown(() => code.env.authorizerSettingsFromEnv(env)),
  );
const twinEnv = around({ PORT: '0', SNOWGATE_DATA_DIR: '/tmp/x', SNOWGATE_TWIN_QUIET: '1', POWERTOOLS_LOG_LEVEL: 'INFO' }).map(asEnv);
for (const env of sample(twinEnv))
  note(
    'twinEnv',
    env,
    thrown(() => code.env.twinEnv(env)),
  );

// Whole requests: every record judged, as the handler does it.
const record = fc.oneof(
  fc.dictionary(
    fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('id', '__proto__', 'constructor', 'type')),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 4 },
  ),
  edgy.map((id) => ({ id, type: 'page_view' })),
  edgy,
);
const body = fc.oneof(
  record.map((r) => JSON.stringify(r) ?? 'undefined'),
  fc.array(record, { maxLength: 6 }).map((rs) => JSON.stringify(rs)),
  fc.array(record, { maxLength: 6 }).map((rs) => rs.map((r) => JSON.stringify(r) ?? '').join('\n')),
  fc.string({ maxLength: 30 }),
);
const request = fc.tuple(body, fc.constantFrom('application/json', 'application/x-ndjson', 'text/plain', undefined));
const limits = code.core.limitsSchema.parse({ maxRecordsPerRequest: 5, maxDepth: 3 });
for (const [text, type] of sample(request)) {
  const incoming = {
    requestId: 'r',
    receivedAt: new Date('2026-12-04T01:02:03.456Z'),
    headers: { 'content-type': type },
    body: text,
    isBase64Encoded: false,
  };
  note(
    'assessRequest',
    incoming,
    thrown(() => code.core.assessRequest(incoming, limits)),
  );
}
// Last, the stage config: classic zod, composed with the runtime schemas (loaded last: see above).
const { parseStageConfig } = (await import(join(resolve(values.side), 'packages/config/src/stage-config.ts'))) as StageConfigModule;
const stage = fc
  .tuple(
    around({ maxBodyBytes: 1000, maxDepth: 5 }),
    around({ budgetMs: 100, retryAfterSeconds: 2 }),
    around({ mode: 'enforce', typeField: 'kind' }),
    fc.constantFrom(5, 10, 29),
  )
  .map(([limits, write, contracts, timeoutSeconds]) => ({
    ingest: { limits, write },
    contracts,
    lambda: { timeoutSeconds },
    snowflake: { externalId: 'x-1' },
  }));
for (const input of sample(stage))
  note(
    'parseStageConfig',
    input,
    thrown(() => parseStageConfig(input)),
  );
process.stdout.write(JSON.stringify(outcomes));
