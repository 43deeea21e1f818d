/**
 * The producers' Postman collection (tests/postman/), run by newman against fresh
 * local twins, then the half of the contract that no HTTP answer shows:
 *
 * - every rejected request is in the error bucket, once, under its requestId,
 *   with the status and reasons it was answered (record by record), the body it
 *   sent when refused as a whole (a compressed body as the bytes sent, base64),
 *   the producer of its API key, and without the auth headers or any key; a
 *   record rejected by its schema contract is kept with the schema it was checked
 *   against and the schema's issues;
 * - a request refused by the API-key authorizer (401 without a key, 403 with a
 *   wrong, malformed or revoked one) got API Gateway's `{ message }` and reached
 *   nothing: no quarantine object, no event;
 * - after a draining stop, every record the API accepted, compressed or not, is
 *   in raw_events exactly once with its request's id, and nothing else is; every
 *   envelope in the landing files names the key's producer, and no key is in them;
 * - the twin's /status counts what was answered, in the contract mode asked for.
 *
 * It runs three passes (PASSES), one after another, each on its own twin: the
 * whole collection with contracts enforced (unknown schemas accepted) and auth
 * mode apiKey, with a key made for the run (and a revoked one); then the folder
 * "Schema contracts" again with unknown schemas rejected, and in mode warn, so
 * that its expectations for `unknown: reject` and for `warn` run too (its
 * branches for mode `off` run against no twin here), both on twins without auth,
 * the second pass also with the folder "API keys", which must skip itself there.
 * Each twin runs on free ports and a temporary data dir, both gone afterwards.
 * newman's working directory is the repository root, so the collection's file
 * bodies (tests/postman/fixtures/) resolve as for `pnpm postman`. Each check that
 * fails is reported on its own (expect.soft), saying what differs. Against a
 * deployed stage, use `pnpm postman --env-var baseUrl=https://…` instead (HTTP
 * checks only; set authMode, contractsMode and contractsUnknown to the stage's
 * settings).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  envelopeSchema,
  generateApiKey,
  landingText,
  writeKeyOfBasicAuth,
  quarantineObjectSchema,
  type ContractSettings,
  type IngestResponse,
  type QuarantineObject,
  type RejectionReason,
} from '@snowgate/core';
import { parseStageConfig } from '@snowgate/config';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import { fileApiKeyStore, openWarehouse, query, type Twin, type TwinStatus } from '@snowgate/twin';
import newman, { type NewmanRunExecution, type NewmanRunOptions, type NewmanRunSummary } from 'newman';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTwin } from '../twin/use-twin';

const root = new URL('../../', import.meta.url).pathname;
const COLLECTION = join(root, 'tests/postman/snowgate.postman_collection.json');
const ENVIRONMENT = join(root, 'tests/postman/local.postman_environment.json');
const SCHEMAS_DIR = join(root, 'schemas');
/**
 * newman resolves a file body's `src` against its working directory (the current directory unless told): the
 * repository root, as for `pnpm postman`, which pnpm runs there. Files outside it are refused, as the Postman app does.
 */
const WORKING_DIR = root;
/** A draining stop delivers and loads everything buffered: seconds, not minutes. */
const STOP_TIMEOUT_MS = 30_000;
/** A pass: the twin's start, the whole collection through newman, reading back, a draining stop. */
const PASS_TIMEOUT_MS = 240_000;
const CONTRACTS_FOLDER = 'Schema contracts';
const API_KEYS_FOLDER = 'API keys';
/** The stage's `auth.header` (the default) and the collection's `apiKeyHeader`. */
const API_KEY_HEADER = 'x-api-key';
/** The producer the run's key is made for: every envelope and quarantine object of an apiKey pass must name it. */
const PRODUCER = 'postman';
/** Ids of the events in the committed compressed bodies (tests/postman/fixtures/): fixed, since a file cannot carry the runId. */
const FIXTURE_ID_PREFIX = 'pm-fixture-';

/** One twin, one newman run, all the checks. */
interface Pass {
  name: string;
  /** The twin's stage config `contracts`; the collection is told `contractsMode` and `contractsUnknown` from it. */
  contracts: Pick<ContractSettings, 'mode' | 'unknown' | 'missingVersion'>;
  /** The twin's stage config `auth.mode`, and the collection's `authMode`. apiKey: a key (and a revoked one) is made for the run. */
  auth: 'apiKey' | 'none';
  /** The twin's stage config `delivery.mode`: how accepted events reach raw_events (landing files, or streamed rows). */
  delivery: 'files' | 'streaming';
  /** Only these folders of the collection; the whole collection when absent. */
  folders?: string[];
  /** Folders run that must skip every request of theirs (pm.execution.skipRequest), for this pass's authMode. */
  skipped?: string[];
  /** Reasons that some quarantined request or record, and some warning, must have: the cases must not pass by checking nothing. */
  mustQuarantine: RejectionReason[];
  mustWarn: string[];
  /** Content codings that some accepted request must have been sent in, its events then checked in raw_events. */
  mustDecode: string[];
}

const PASSES: Pass[] = [
  {
    name: 'the whole collection, contracts enforced, auth apiKey',
    // missingVersion `unknown` with unknown `accept`: the requests outside the contracts folder name a `type` (some
    // `page_view`) but no `schema_version`, so they are taken unchecked and answered as with contracts off. With
    // `latest` they would be checked against page_view v2 and rejected; with unknown `reject`, all of them would be.
    contracts: { mode: 'enforce', unknown: 'accept', missingVersion: 'unknown' },
    auth: 'apiKey',
    delivery: 'files',
    mustQuarantine: ['schema_violation', 'invalid_compression', 'unsupported_encoding', 'body_too_large'],
    mustWarn: [],
    mustDecode: ['gzip', 'deflate', 'br'],
  },
  {
    name: `"${CONTRACTS_FOLDER}", contracts enforced, unknown schemas rejected, no auth ("${API_KEYS_FOLDER}" skipped)`,
    folders: [CONTRACTS_FOLDER, API_KEYS_FOLDER],
    skipped: [API_KEYS_FOLDER],
    contracts: { mode: 'enforce', unknown: 'reject', missingVersion: 'unknown' },
    auth: 'none',
    delivery: 'files',
    mustQuarantine: ['schema_violation', 'unknown_schema'],
    mustWarn: [],
    mustDecode: [],
  },
  {
    name: `"${CONTRACTS_FOLDER}", contracts in warn, unknown schemas rejected, no auth, streaming delivery`,
    folders: [CONTRACTS_FOLDER],
    contracts: { mode: 'warn', unknown: 'reject', missingVersion: 'unknown' },
    auth: 'none',
    delivery: 'streaming',
    mustQuarantine: [],
    mustWarn: ['schema_violation', 'unknown_schema'],
    mustDecode: [],
  },
];

/** One answer of the run, as sent and as received. */
interface Answer {
  name: string;
  method: string;
  path: string;
  status: number;
  contentType: string;
  /** The request's Content-Encoding, lower-cased; undefined when sent plain. */
  contentEncoding: string | undefined;
  /** The API-key header sent, if any. */
  apiKey: string | undefined;
  /** The request body's bytes as sent: a raw body with its variables resolved, or the file's bytes. */
  sent: Buffer;
  /** The `src` of a file body, as the collection names it. */
  file: string | undefined;
  /** The parsed JSON body of a `POST /events` answer from the handler. */
  body: IngestResponse | undefined;
  /** The `{ message }` of a 401 or 403 from in front of the handler (the API-key authorizer). */
  refusal: { message: string } | undefined;
}
/** A `POST /events` answer of the handler. */
type Handled = Answer & { body: IngestResponse };

/** The keys of a pass: sent, so they must be nowhere in what the twin keeps. */
interface Keys {
  /** The `apiKey` the collection sends with every request: a real key in an apiKey pass, otherwise any string (the twin ignores it). */
  valid: string;
  /** A key made and revoked before the run (apiKey passes). */
  revoked: string | undefined;
}

/** What a pass's twin answered and kept, read while it ran and after its draining stop; the checks read only this. */
interface Run {
  runId: string;
  keys: Keys;
  summary: NewmanRunSummary;
  /** Every `POST /events` answer, refused or handled. */
  posts: Answer[];
  events: Handled[];
  errorBucket: { key: string; text: string }[];
  status: TwinStatus;
  rawEvents: { id: string; requestId: string; sourceFile: string }[];
  landing: { key: string; text: string }[];
}

/** The figures of a pass, for the closing line. */
interface PassFigures {
  requests: number;
  assertions: number;
  quarantined: number;
  loaded: number;
  warnings: number;
  refused: number;
  decoded: number;
}

/** A check that cannot go on; its message says what, and the test stops there. */
class CheckFailed extends Error {}

/** A check that failed: reported with its message, and the test goes on to the next check (expect.soft). */
function problem(message: string): void {
  expect.soft(false, message).toBe(true);
}

// The twin reads no Authorization header, so this one only has to be sent, and never kept in the error bucket.
const authorization = `Bearer postman-secret-${randomUUID()}`;
const figures: PassFigures[] = [];

for (const [i, pass] of PASSES.entries()) {
  describe(`Postman ${i + 1}/${PASSES.length}: ${pass.name}`, () => {
    const running = useTwin(
      parseStageConfig({
        snowflake: { externalId: 'snowgate-local' },
        contracts: pass.contracts,
        auth: { mode: pass.auth },
        delivery: { mode: pass.delivery },
      }),
      { schemasDir: SCHEMAS_DIR },
    );
    const pf: PassFigures = { requests: 0, assertions: 0, quarantined: 0, loaded: 0, warnings: 0, refused: 0, decoded: 0 };
    figures.push(pf);
    let run: Run;

    beforeAll(async () => {
      run = await runPass(pass, running.twin, running.dataDir);
      pf.requests = run.summary.run.stats.requests.total ?? 0;
      pf.assertions = run.summary.run.stats.assertions.total ?? 0;
    }, PASS_TIMEOUT_MS);

    it(`newman runs ${pass.folders ? `the folders ${pass.folders.map((f) => `"${f}"`).join(', ')}` : 'the whole collection'}, every assertion and script passing`, () => {
      checkRun(run.summary, pass);
    });

    it(
      pass.auth === 'apiKey'
        ? 'the API-key authorizer answers 401 without a key, 403 with a wrong or revoked one, each { message } only'
        : 'nothing is refused without auth',
      () => {
        pf.refused = checkAuthorizer(run.posts, pass, run.keys);
      },
    );

    it(
      pass.contracts.mode === 'warn'
        ? 'contract warnings are answered for the cases that need them'
        : `no contract warnings in mode ${pass.contracts.mode}`,
      () => {
        pf.warnings = checkWarnings(run.events, pass);
      },
    );

    it('every request with anything rejected has one quarantine object matching its answer, naming the producer, holding no key', () => {
      pf.quarantined = checkErrorBucket(run.events, run.errorBucket, pass, run.keys);
    });

    it("the twin's /status counts what was answered, in the contract mode asked for", () => {
      checkStatus(run.posts, run.status, pass);
    });

    it('after a draining stop, every accepted event is in raw_events once with its request id and in a landing file naming the producer, and nothing else is', () => {
      const expected = acceptedEvents(run.events, run.runId);
      pf.decoded = checkWarehouse(expected, run.rawEvents, pass);
      // Each row came the pass's way: a landing file's line, or a streamed row of a Kinesis record (the files are then the archive).
      const streamed = (row: { sourceFile: string }) => row.sourceFile.startsWith('kinesis:');
      const wrongWay = run.rawEvents.filter((row) => streamed(row) !== (pass.delivery === 'streaming'));
      if (wrongWay.length)
        problem(`${wrongWay.length} rows of raw_events did not come by ${pass.delivery}, e.g. ${wrongWay[0]!.sourceFile}`);
      checkLanding(expected, run.landing, pass, run.keys);
      pf.loaded = expected.size;
    });
  });
}

afterAll(() => {
  const total = (key: keyof PassFigures) => figures.reduce((n, r) => n + r[key], 0);
  console.log(
    `Postman: ${total('requests')} requests, ${total('assertions')} assertions in ${PASSES.length} runs ` +
      `(${figures.map((r) => `${r.requests}/${r.assertions}`).join(', ')}); ` +
      `${total('quarantined')} rejected requests in the error bucket; ${total('refused')} refused by the API-key authorizer; ` +
      `${total('loaded')} accepted events in raw_events, each once (${total('decoded')} of them sent compressed); ` +
      `${total('warnings')} contract warnings.`,
  );
});

/** Keys for the pass, newman against its twin, then the error bucket and /status while it runs, and raw_events and the landing files after a draining stop. */
async function runPass(pass: Pass, twin: Twin, dataDir: string): Promise<Run> {
  const runId = `pm-local-${randomUUID()}`;
  const { endpoints } = twin;

  // Keys made while the twin runs, as `pnpm keys create --data-dir` makes them: it reads key records when asked.
  const keys: Keys = { valid: `postman-key-${randomUUID()}`, revoked: undefined };
  if (pass.auth === 'apiKey') {
    const store = fileApiKeyStore(dataDir);
    const valid = generateApiKey(PRODUCER);
    const revoked = generateApiKey(`${PRODUCER}-revoked`);
    await store.put(valid.record);
    await store.put({ ...revoked.record, enabled: false, revoked_at: new Date().toISOString() });
    keys.valid = valid.key;
    keys.revoked = revoked.key;
  }

  const summary = await runCollection({
    collection: COLLECTION,
    environment: ENVIRONMENT,
    ...(pass.folders ? { folder: pass.folders } : {}),
    workingDir: WORKING_DIR,
    insecureFileRead: false,
    envVar: [
      { key: 'baseUrl', value: endpoints.api },
      { key: 'runId', value: runId },
      { key: 'authMode', value: pass.auth },
      { key: 'authorization', value: authorization },
      { key: 'apiKey', value: keys.valid },
      { key: 'apiKeyHeader', value: API_KEY_HEADER },
      { key: 'revokedApiKey', value: keys.revoked ?? '' },
      { key: 'contractsMode', value: pass.contracts.mode },
      { key: 'contractsUnknown', value: pass.contracts.unknown },
    ],
    timeoutRequest: 10_000,
  });
  const posts = summary.run.executions.map(answerOf).filter((a) => a.method === 'POST' && isIngestPath(a.path));
  const events = posts.filter((a): a is Handled => a.body !== undefined);

  // While the twin runs: its s3rver holds the error bucket, and /status its counts.
  const s3 = createClients({ region: 'us-east-1', s3Endpoint: endpoints.s3 }, LOCAL_CREDENTIALS).s3;
  let errorBucket: Run['errorBucket'];
  try {
    errorBucket = await readErrorBucket(s3, endpoints.buckets.errors);
  } finally {
    s3.destroy();
  }
  const status = await readStatus(endpoints.api);

  // A draining stop: every accepted record is delivered and loaded before it resolves.
  await stopWithin(twin, STOP_TIMEOUT_MS);
  const rawEvents = await readRawEvents(join(dataDir, 'warehouse.duckdb'));
  const landing = readLandingFiles(dataDir, endpoints.buckets.landing);
  return { runId, keys, summary, posts, events, errorBucket, status, rawEvents, landing };
}

async function stopWithin(twin: Twin, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const result = await Promise.race([twin.stop(), timeout]);
  clearTimeout(timer);
  if (result === 'timeout') throw new CheckFailed(`the twin did not stop (drain) within ${ms / 1000} s`);
}

function runCollection(options: NewmanRunOptions): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => newman.run(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** The collection (or the pass's folders) ran whole, the folders to skip skipped everything, and every assertion and script passed. */
function checkRun(summary: NewmanRunSummary, pass: Pass): void {
  if (summary.error) problem(`newman: ${summary.error.message ?? summary.error}`);
  for (const failure of summary.run.failures) {
    const where = failure.source?.name ? ` in "${failure.source.name}"` : '';
    problem(`newman ${failure.at}${where}: ${failure.error.test ? `${failure.error.test}: ` : ''}${failure.error.message}`);
  }
  const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as CollectionNode;
  const folders = pass.folders?.map((name) => {
    const folder = collection.item?.find((i) => i.name === name && i.item);
    if (!folder) throw new CheckFailed(`the collection has no folder "${name}"`);
    return folder;
  }) ?? [collection];
  const toSkip = new Set<string>();
  for (const name of pass.skipped ?? []) {
    const folder = folders.find((f) => f.name === name);
    if (!folder) throw new CheckFailed(`the pass skips "${name}", which it does not run`);
    for (const request of requestNames(folder)) toSkip.add(request);
  }
  const items = folders.reduce((n, f) => n + requestNames(f).length, 0) - toSkip.size;
  const ran = summary.run.executions.map((e) => e.item.name);
  if (ran.length !== items)
    problem(
      `newman ran ${ran.length} requests; ${pass.folders ? `the folders ${pass.folders.map((f) => `"${f}"`).join(', ')}` : 'the collection'} have ${items} to run`,
    );
  for (const name of ran) if (toSkip.has(name)) problem(`"${name}" ran, but must skip itself with authMode ${pass.auth}`);
  if (!summary.run.stats.assertions.total) problem('newman ran no assertions');
}

interface CollectionNode {
  name?: string;
  item?: CollectionNode[];
  request?: unknown;
}
function requestNames(node: CollectionNode): string[] {
  return [...(node.request ? [node.name ?? ''] : []), ...(node.item ?? []).flatMap(requestNames)];
}

/** `POST /events`, and the SDK routes on the same handler (`POST /v1/batch`, `/v1/track`, `/v1/t`, `/beacon/v1/batch`, …). */
function isIngestPath(path: string): boolean {
  return path.endsWith('/events') || isSegmentPath(path);
}
function isSegmentPath(path: string): boolean {
  return /\/v1\/(batch|track|identify|page|screen|group|alias|[tipsgab])$/.test(path);
}

function answerOf(execution: NewmanRunExecution): Answer {
  const { item, request, response } = execution;
  if (!response) throw new CheckFailed(`"${item.name}" got no response`);
  const path = request.url.getPath();
  const contentType = request.headers.get('Content-Type') ?? '';
  const contentEncoding = request.headers.get('Content-Encoding')?.trim().toLowerCase() || undefined;
  const file = request.body?.mode === 'file' ? request.body.file?.src : undefined;
  // The file newman read, resolved as it resolves it; what went out must be all of it.
  const sent = file !== undefined ? readFileSync(resolve(WORKING_DIR, file)) : Buffer.from(request.body?.raw ?? '', 'utf8');
  const contentLength = request.headers.get('Content-Length');
  if (file !== undefined && Number(contentLength) !== sent.byteLength) {
    throw new CheckFailed(`"${item.name}" sent ${contentLength} bytes for its file body ${file}, which has ${sent.byteLength}`);
  }
  const text = response.text() ?? '';
  let body: IngestResponse | undefined;
  let refusal: { message: string } | undefined;
  if (request.method === 'POST' && isIngestPath(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CheckFailed(`"${item.name}" answered ${response.code} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (response.code === 401 || response.code === 403) refusal = parsed as { message: string };
    else body = parsed as IngestResponse;
  }
  return {
    name: item.name,
    method: request.method,
    path,
    status: response.code,
    contentType,
    contentEncoding,
    // The SDK routes take the key as their SDKs send the write key: the user name of Authorization: Basic, or
    // (a beacon) the writeKey query parameter.
    apiKey: isSegmentPath(path)
      ? (writeKeyOfBasicAuth(request.headers.get('Authorization')) ??
        new URLSearchParams(request.url.getQueryString()).get('writeKey') ??
        undefined)
      : request.headers.get(API_KEY_HEADER),
    sent,
    file,
    body,
    refusal,
  };
}

/**
 * API Gateway's part, as the twin plays it: with auth apiKey, no key header is 401, a key that is not the run's valid
 * key (wrong, malformed, revoked) is 403, each with `{ message }` only, and the valid key reaches the handler; without
 * auth, nothing is refused. Returns how many were refused.
 */
function checkAuthorizer(posts: Answer[], pass: Pass, keys: Keys): number {
  const refused = posts.filter((a) => a.refusal !== undefined);
  if (pass.auth !== 'apiKey') {
    for (const a of refused) problem(`"${a.name}" was answered ${a.status} by a twin without auth`);
    return refused.length;
  }
  const seen = { missing: 0, revoked: 0, other: 0 };
  for (const a of posts) {
    const [kind, status, message] =
      a.apiKey === undefined
        ? (['missing', 401, 'Unauthorized'] as const)
        : a.apiKey === keys.valid
          ? (['valid', 0, ''] as const)
          : ([a.apiKey === keys.revoked ? 'revoked' : 'other', 403, 'Forbidden'] as const);
    if (kind === 'valid') {
      if (a.refusal) problem(`"${a.name}" sent the run's valid key and was answered ${a.status} ${JSON.stringify(a.refusal)}`);
      continue;
    }
    seen[kind]++;
    const key = kind === 'missing' ? 'no key header' : kind === 'revoked' ? 'the revoked key' : `the key ${JSON.stringify(a.apiKey)}`;
    if (a.status !== status || !isDeepStrictEqual(a.refusal, { message })) {
      problem(
        `"${a.name}" sent ${key}: answered ${a.status} ${JSON.stringify(a.refusal ?? a.body)}, not ${status} {"message":"${message}"}`,
      );
    }
  }
  for (const [kind, n] of Object.entries(seen)) {
    if (n === 0)
      problem(
        `no request sent ${kind === 'missing' ? 'no key header' : kind === 'revoked' ? 'the revoked key' : 'a wrong key'}: "${API_KEYS_FOLDER}" did not run as meant`,
      );
  }
  return refused.length;
}

/** Warnings only in mode warn, and the ones the pass is there for were answered. Returns how many. */
function checkWarnings(events: Handled[], pass: Pass): number {
  const reasons = new Set(events.flatMap((a) => (a.body.warnings ?? []).map((w) => w.reason)));
  const count = events.reduce((n, a) => n + (a.body.warnings?.length ?? 0), 0);
  if (pass.contracts.mode !== 'warn' && count > 0) problem(`${count} warnings answered in contract mode ${pass.contracts.mode}`);
  for (const reason of pass.mustWarn)
    if (!reasons.has(reason)) problem(`no answer warned of ${reason}: the contract cases did not run as meant`);
  return count;
}

async function readErrorBucket(s3: S3Client, bucket: string): Promise<{ key: string; text: string }[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return Promise.all(
    keys.map(async (key) => ({
      key,
      text: await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString(),
    })),
  );
}

/** What must never be kept: the Authorization header's token, and every key sent (whole, and its secret part alone). */
function secretsOf(keys: Keys): { what: string; value: string }[] {
  const secrets = [{ what: 'the Authorization header', value: authorization.slice('Bearer '.length) }];
  for (const [what, key] of [
    ['the API key', keys.valid],
    ['the revoked API key', keys.revoked],
  ] as const) {
    if (key === undefined) continue;
    secrets.push({ what, value: key });
    // sg_<12-character id>_<secret>: the id alone names a record and may be kept; the secret never.
    if (key.startsWith('sg_')) secrets.push({ what: `the secret of ${what}`, value: key.slice(16) });
  }
  return secrets;
}

/** The secrets a text holds, named. */
function leaked(text: string, secrets: { what: string; value: string }[]): string | undefined {
  const found = secrets.filter((s) => text.includes(s.value)).map((s) => s.what);
  return found.length > 0 ? found.join(', ') : undefined;
}

/** The bytes a quarantined input holds. */
function keptBytes(input: { encoding: 'utf8' | 'base64'; data: string }): Buffer {
  return Buffer.from(input.data, input.encoding);
}

/**
 * Each request with anything rejected has one quarantine object, matching its answer, naming the pass's producer;
 * the others have none. A body refused as a whole is kept as the bytes sent: compressed, base64, when it was sent so.
 * Returns how many were found.
 */
function checkErrorBucket(events: Handled[], objects: { key: string; text: string }[], pass: Pass, keys: Keys): number {
  const secrets = secretsOf(keys);
  const producer = pass.auth === 'apiKey' ? PRODUCER : undefined;
  const byRequest = new Map<string, QuarantineObject[]>();
  for (const { key, text } of objects) {
    const leak = leaked(text, secrets);
    if (leak) problem(`quarantine object ${key} holds ${leak}`);
    const parsed = quarantineObjectSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      problem(`quarantine object ${key} does not match quarantineObjectSchema: ${parsed.error.message}`);
      continue;
    }
    if (parsed.data.producer !== producer)
      problem(`quarantine object ${key} names producer ${parsed.data.producer}, not ${producer} (the producer of the run's key)`);
    byRequest.set(parsed.data.request_id, [...(byRequest.get(parsed.data.request_id) ?? []), parsed.data]);
  }
  let expected = 0;
  const quarantinedReasons = new Set<string>();
  const keptCompressed = new Set<string>();
  for (const answer of events) {
    const { body } = answer;
    const found = byRequest.get(body.requestId) ?? [];
    const rejectedSomething = body.errors.length > 0;
    if (!rejectedSomething) {
      if (found.length > 0) problem(`"${answer.name}" (${answer.status}, nothing rejected) has ${found.length} quarantine object(s)`);
      continue;
    }
    expected++;
    if (found.length !== 1) {
      problem(
        `"${answer.name}" (${answer.status}, request ${body.requestId}) has ${found.length} quarantine objects in the error bucket, not 1`,
      );
      continue;
    }
    const object = found[0]!;
    const reasons = [...new Set(body.errors.map((e) => e.reason))].sort();
    const mismatches = [
      object.status !== answer.status && `status ${object.status}, answered ${answer.status}`,
      JSON.stringify([...object.reasons].sort()) !== JSON.stringify(reasons) &&
        `reasons ${object.reasons.join(',')}, answered ${reasons.join(',')}`,
      object.accepted !== body.accepted && `accepted ${object.accepted}, answered ${body.accepted}`,
      object.rejected !== body.rejected && `rejected ${object.rejected}, answered ${body.rejected}`,
      object.headers['content-type'] !== answer.contentType && `content-type ${object.headers['content-type']}, sent ${answer.contentType}`,
      object.headers['content-encoding']?.toLowerCase() !== answer.contentEncoding &&
        `content-encoding ${object.headers['content-encoding']}, sent ${answer.contentEncoding}`,
    ].filter(Boolean);
    const wholeRequest = body.errors.length === 1 && body.errors[0]!.index === null;
    if (wholeRequest) {
      // Refused as a whole: the body is kept as received, compressed if it came so (truncated past the quarantine limit, with its true size).
      quarantinedReasons.add(body.errors[0]!.reason);
      if (!object.body) mismatches.push('no body kept');
      else {
        const kept = keptBytes(object.body);
        if (object.body.size !== answer.sent.byteLength) mismatches.push(`body size ${object.body.size}, sent ${answer.sent.byteLength}`);
        else if (object.body.truncated ? !answer.sent.subarray(0, kept.byteLength).equals(kept) : !kept.equals(answer.sent)) {
          mismatches.push(`the body kept (${object.body.encoding}${object.body.truncated ? ', truncated' : ''}) is not the body sent`);
        } else if (answer.file !== undefined && answer.contentEncoding !== undefined) {
          // Compressed bytes are not UTF-8 (gzip's second byte is 0x8b): they can only be kept base64.
          if (object.body.encoding !== 'base64')
            mismatches.push(`the compressed body ${answer.file} is kept as ${object.body.encoding}, not base64`);
          else if (!object.body.truncated) keptCompressed.add(body.errors[0]!.reason);
        }
      }
    } else {
      const kept = object.records.map((r) => `${r.index}:${r.reason}`).join(',');
      const answered = body.errors.map((e) => `${e.index}:${e.reason}`).join(',');
      if (kept !== answered) mismatches.push(`records ${kept} (index:reason), answered ${answered}`);
      for (const record of object.records) {
        quarantinedReasons.add(record.reason);
        if (record.reason === 'schema_violation' || record.reason === 'unknown_schema')
          mismatches.push(...checkContractRecord(answer, record));
      }
    }
    if (mismatches.length > 0) problem(`"${answer.name}": its quarantine object differs from the answer: ${mismatches.join('; ')}`);
  }
  if (objects.length !== expected)
    problem(`the error bucket holds ${objects.length} objects; the run rejected input in ${expected} requests`);
  for (const reason of pass.mustQuarantine) {
    if (!quarantinedReasons.has(reason)) problem(`no request or record was quarantined as ${reason}: the cases did not run as meant`);
  }
  // The torn gzip body, byte for byte.
  if (pass.mustQuarantine.includes('invalid_compression') && !keptCompressed.has('invalid_compression')) {
    problem('no compressed file body refused as invalid_compression was kept whole, base64, as the bytes sent');
  }
  return expected;
}

/**
 * A record rejected by its contract is kept as sent, with the schema its `type` and `schema_version` name and,
 * for `schema_violation`, the schema's issues (each with the failing keyword and its place in the schema).
 */
function checkContractRecord(answer: Answer, record: QuarantineObject['records'][number]): string[] {
  const sent = recordsOf(answer)[record.index] as { type?: unknown; schema_version?: unknown } | undefined;
  if (!sent) return [`record ${record.index} was not sent`];
  const where = `record ${record.index} (${record.reason})`;
  const mismatches: string[] = [];
  let kept: unknown;
  try {
    kept = JSON.parse(record.input.data);
  } catch {
    kept = undefined;
  }
  if (record.input.truncated || record.input.encoding !== 'utf8' || !isDeepStrictEqual(kept, sent))
    mismatches.push(`${where}: the input kept is not the record sent`);
  const named = { type: sent.type, version: Number(sent.schema_version) };
  if (record.reason === 'schema_violation') {
    if (!isDeepStrictEqual(record.schema, named))
      mismatches.push(`${where}: schema ${JSON.stringify(record.schema)}, the record names ${JSON.stringify(named)}`);
    if (record.issues.length === 0) mismatches.push(`${where}: no issues kept`);
    for (const issue of record.issues) {
      if (!issue.keyword || !issue.schemaPath?.startsWith('#/'))
        mismatches.push(`${where}: issue ${JSON.stringify(issue)} has no keyword or schemaPath`);
    }
  } else {
    // No schema to break: no issues. The schema named is kept when the type has schemas (only the version has none).
    if (record.issues.length > 0) mismatches.push(`${where}: ${record.issues.length} issues kept, none expected`);
    if (record.schema && !isDeepStrictEqual(record.schema, named))
      mismatches.push(`${where}: schema ${JSON.stringify(record.schema)}, the record names ${JSON.stringify(named)}`);
  }
  return mismatches;
}

async function readStatus(api: string): Promise<TwinStatus> {
  const response = await fetch(`${api}/status`);
  if (!response.ok) throw new CheckFailed(`GET /status answered ${response.status}`);
  return (await response.json()) as TwinStatus;
}

/** The twin runs in the contract mode asked for, with the repository's schemas, and counted what it answered (refusals too, by status). */
function checkStatus(posts: Answer[], status: TwinStatus, pass: Pass): void {
  const sum = (f: (b: IngestResponse) => number) => posts.reduce((n, a) => n + (a.body ? f(a.body) : 0), 0);
  const byStatus: Record<string, number> = {};
  for (const a of posts) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  const expected = {
    mode: pass.contracts.mode,
    accepted: sum((b) => b.accepted),
    quarantinedRecords: sum((b) => b.rejected),
    schemaWarnings: sum((b) => b.warnings?.length ?? 0),
    requests: byStatus,
  };
  const actual = {
    mode: status.contracts.mode,
    accepted: status.api.accepted,
    quarantinedRecords: status.api.quarantinedRecords,
    schemaWarnings: status.api.schemaWarnings,
    requests: status.api.requests,
  };
  if (!isDeepStrictEqual(actual, expected))
    problem(`the twin's /status says ${JSON.stringify(actual)}; the answers say ${JSON.stringify(expected)}`);
  for (const schema of ['page_view/2', 'order_placed/1']) {
    if (pass.contracts.mode !== 'off' && !status.contracts.schemas.includes(schema))
      problem(`the twin has no schema ${schema} (it has ${status.contracts.schemas.join(', ') || 'none'})`);
  }
}

async function readRawEvents(path: string): Promise<{ id: string; requestId: string; sourceFile: string }[]> {
  const { instance, connection } = await openWarehouse(path, { readOnly: true });
  try {
    const { rows } = await query(connection, `SELECT record->>'id' AS id, request_id, source_file FROM raw_events`);
    return rows.map((r) => ({ id: String(r.id), requestId: String(r.request_id), sourceFile: String(r.source_file) }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The body's text as the handler reads it: decoded from its Content-Encoding, as the handler decodes it. */
function textOf(answer: Answer): string {
  const { sent, contentEncoding } = answer;
  let bytes: Buffer;
  if (contentEncoding === undefined || contentEncoding === 'identity') bytes = sent;
  else if (contentEncoding === 'gzip' || contentEncoding === 'x-gzip') bytes = gunzipSync(sent);
  else if (contentEncoding === 'br') bytes = brotliDecompressSync(sent);
  else if (contentEncoding === 'deflate') {
    try {
      bytes = inflateSync(sent);
    } catch {
      bytes = inflateRawSync(sent);
    }
  } else throw new CheckFailed(`"${answer.name}" was accepted with Content-Encoding ${contentEncoding}, which the handler does not decode`);
  return bytes.toString('utf8');
}

/** The records of a request body, as the contract splits them: one object, a JSON array, or NDJSON lines; a Segment batch's messages. */
function recordsOf(answer: Answer): unknown[] {
  const text = textOf(answer);
  if (/\/v1\/(batch|b)$/.test(answer.path)) return (JSON.parse(text) as { batch: unknown[] }).batch;
  if (/ndjson|jsonl|jsonlines/i.test(answer.contentType)) {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  }
  const value = JSON.parse(text) as unknown;
  return Array.isArray(value) ? value : [value];
}

/** An accepted record: its request's id, and the coding its request was sent in. */
interface Accepted {
  requestId: string;
  contentEncoding: string | undefined;
}

/** The ids of every record the handler accepted, from the bodies sent (decompressed) and their answers. */
function acceptedEvents(events: Handled[], runId: string): Map<string, Accepted> {
  const expected = new Map<string, Accepted>();
  for (const answer of events) {
    const { body } = answer;
    if (body.accepted === 0) continue;
    const rejected = new Set(body.errors.map((e) => e.index));
    // A Segment message's id is its messageId.
    const idOf = (record: unknown) =>
      String(isSegmentPath(answer.path) ? (record as { messageId: unknown }).messageId : (record as { id: unknown }).id);
    const accepted = recordsOf(answer).flatMap((record, index) => (rejected.has(index) ? [] : [idOf(record)]));
    if (accepted.length !== body.accepted)
      problem(`"${answer.name}" answered accepted ${body.accepted}, but its body holds ${accepted.length} records not rejected`);
    for (const id of accepted) {
      // A file body cannot carry the runId: its ids are fixed, and only a file body may use them.
      const prefix = answer.file !== undefined ? FIXTURE_ID_PREFIX : runId;
      if (!id.startsWith(prefix))
        problem(
          `"${answer.name}" sent id ${id}, which does not start with ${answer.file !== undefined ? "the fixtures' prefix" : "the run's runId"} ${prefix}`,
        );
      if (expected.has(id)) problem(`"${answer.name}" sent id ${id}, which another accepted request sent too`);
      expected.set(id, { requestId: body.requestId, contentEncoding: answer.contentEncoding });
    }
  }
  return expected;
}

/** Every accepted record is in raw_events exactly once, with its request's id, and nothing else is. Returns how many were sent compressed. */
function checkWarehouse(expected: Map<string, Accepted>, rows: { id: string; requestId: string }[], pass: Pass): number {
  if (expected.size === 0) problem('the run accepted no events, so nothing could be checked in raw_events');
  const found = new Map<string, string[]>(); // id → request ids of its rows
  for (const row of rows) found.set(row.id, [...(found.get(row.id) ?? []), row.requestId]);
  const decoded = new Set<string>();
  let compressed = 0;
  for (const [id, { requestId, contentEncoding }] of expected) {
    const requestIds = found.get(id) ?? [];
    if (requestIds.length === 0) problem(`accepted event ${id} is not in raw_events`);
    else if (requestIds.length > 1) problem(`accepted event ${id} is in raw_events ${requestIds.length} times`);
    else if (requestIds[0] !== requestId) problem(`event ${id} is in raw_events with request_id ${requestIds[0]}, answered ${requestId}`);
    else if (contentEncoding !== undefined) {
      decoded.add(contentEncoding);
      compressed++;
    }
  }
  for (const [id, requestIds] of found)
    if (!expected.has(id)) problem(`raw_events holds ${id} (request ${requestIds.join(', ')}), which was never accepted`);
  for (const coding of pass.mustDecode)
    if (!decoded.has(coding))
      problem(`no event sent with Content-Encoding ${coding} reached raw_events: the compressed cases did not run as meant`);
  return compressed;
}

/**
 * The landing bucket's files, read after the draining stop from s3rver's directory (`<data dir>/s3/<bucket>/<key>._S3rver_object`,
 * s3rver 3.7's file system store): NDJSON envelopes, one a line.
 */
function readLandingFiles(dataDir: string, bucket: string): { key: string; text: string }[] {
  const dir = join(dataDir, 's3', bucket);
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((name) => name.endsWith('._S3rver_object'))
    .map((name) => ({ key: name.slice(0, -'._S3rver_object'.length), text: landingText(readFileSync(join(dir, name))) }));
}

/** Every landing envelope names the pass's producer (none without auth), holds an accepted record, and no key; every accepted record landed. */
function checkLanding(expected: Map<string, Accepted>, files: { key: string; text: string }[], pass: Pass, keys: Keys): void {
  const secrets = secretsOf(keys);
  const producer = pass.auth === 'apiKey' ? PRODUCER : undefined;
  const landed = new Set<string>();
  const wrongProducer: string[] = [];
  for (const { key, text } of files) {
    const leak = leaked(text, secrets);
    if (leak) problem(`landing file ${key} holds ${leak}`);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const envelope = envelopeSchema.safeParse(JSON.parse(line));
      if (!envelope.success) {
        problem(`landing file ${key} has a line that is no envelope: ${line.slice(0, 200)}`);
        continue;
      }
      const id = String(envelope.data.record.id);
      landed.add(id);
      if (envelope.data.producer !== producer) wrongProducer.push(`${id} (${envelope.data.producer ?? 'none'})`);
      if (!expected.has(id)) problem(`landing file ${key} holds ${id}, which was never accepted`);
    }
  }
  if (wrongProducer.length > 0)
    problem(
      `${wrongProducer.length} landing envelopes do not name producer ${producer ?? '(none)'}: ${wrongProducer.slice(0, 5).join(', ')}`,
    );
  const missing = [...expected.keys()].filter((id) => !landed.has(id));
  if (missing.length > 0)
    problem(`${missing.length} accepted events are in no landing file (of ${files.length}): ${missing.slice(0, 5).join(', ')}`);
}
