/**
 * `pnpm test:postman`: the producers' Postman collection (tests/postman/), run
 * by newman against fresh local twins, then the half of the contract that no
 * HTTP answer shows:
 *
 * - every rejected request is in the error bucket, once, under its requestId,
 *   with the status and reasons it was answered (record by record), and without
 *   the auth headers; a record rejected by its schema contract is kept with the
 *   schema it was checked against and the schema's issues;
 * - after a draining stop (SIGINT), every record the API accepted is in
 *   raw_events exactly once with its request's id, and nothing else is;
 * - the twin's /status counts what was answered, in the contract mode asked for.
 *
 * It runs three passes (PASSES), one after another, each on its own twin: the
 * whole collection with contracts enforced (unknown schemas accepted), then the
 * folder "Schema contracts" again with unknown schemas rejected, and in mode
 * warn, so that its expectations for `unknown: reject` and for `warn` run too
 * (its branches for mode `off` run against no twin here). Each twin runs
 * on free ports and a temporary data dir, both gone afterwards. Exits non-zero,
 * saying why, on any failure. Against a deployed stage, use `pnpm postman
 * --env-var baseUrl=https://…` instead (HTTP checks only; set contractsMode and
 * contractsUnknown to the stage's contract settings).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { quarantineObjectSchema, type ContractSettings, type IngestResponse, type QuarantineObject, type RejectionReason } from '@snowgate/core';
import { createClients } from '@snowgate/functions/clients';
import { openWarehouse, query, type TwinStatus } from '@snowgate/twin';
import newman, { type NewmanRunExecution, type NewmanRunOptions, type NewmanRunSummary } from 'newman';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { removeDir, spawnTwin, stopTwin, tempDataDir, type TwinProcess } from '../tests/twin/support';

const root = new URL('../', import.meta.url).pathname;
const COLLECTION = join(root, 'tests/postman/snowgate.postman_collection.json');
const ENVIRONMENT = join(root, 'tests/postman/local.postman_environment.json');
const SCHEMAS_DIR = join(root, 'schemas');
/** Credentials s3rver accepts; nothing leaves this machine. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
/** A draining stop delivers and loads everything buffered: seconds, not minutes. */
const STOP_TIMEOUT_MS = 30_000;
const CONTRACTS_FOLDER = 'Schema contracts';

/** One twin, one newman run, all the checks. */
interface Pass {
  name: string;
  /** The twin's stage config `contracts`; the collection is told `contractsMode` and `contractsUnknown` from it. */
  contracts: Pick<ContractSettings, 'mode' | 'unknown' | 'missingVersion'>;
  /** Only this folder of the collection; the whole collection when absent. */
  folder?: string;
  /** Reasons that some quarantined record, and some warning, must have: the contract cases must not pass by checking nothing. */
  mustQuarantine: RejectionReason[];
  mustWarn: string[];
}

const PASSES: Pass[] = [
  {
    name: 'the whole collection, contracts enforced',
    // missingVersion `unknown` with unknown `accept`: the requests outside the contracts folder name a `type` (some
    // `page_view`) but no `schema_version`, so they are taken unchecked and answered as with contracts off. With
    // `latest` they would be checked against page_view v2 and rejected; with unknown `reject`, all of them would be.
    contracts: { mode: 'enforce', unknown: 'accept', missingVersion: 'unknown' },
    mustQuarantine: ['schema_violation'],
    mustWarn: [],
  },
  {
    name: `"${CONTRACTS_FOLDER}", contracts enforced, unknown schemas rejected`,
    folder: CONTRACTS_FOLDER,
    contracts: { mode: 'enforce', unknown: 'reject', missingVersion: 'unknown' },
    mustQuarantine: ['schema_violation', 'unknown_schema'],
    mustWarn: [],
  },
  {
    name: `"${CONTRACTS_FOLDER}", contracts in warn, unknown schemas rejected`,
    folder: CONTRACTS_FOLDER,
    contracts: { mode: 'warn', unknown: 'reject', missingVersion: 'unknown' },
    mustQuarantine: [],
    mustWarn: ['schema_violation', 'unknown_schema'],
  },
];

/** One answer of the run, as sent and as received. */
interface Answer {
  name: string;
  method: string;
  path: string;
  status: number;
  contentType: string;
  /** The request body as sent, variables resolved. */
  requestBody: string;
  /** The parsed JSON body of a `POST /events` answer. */
  body: IngestResponse | undefined;
}

interface PassResult {
  requests: number;
  assertions: number;
  quarantined: number;
  loaded: number;
  warnings: number;
}

/** A check that failed; its message says what, and the pass stops there. */
class CheckFailed extends Error {}

const started = Date.now();
const problems: string[] = [];
// The twin ignores auth, so these only have to be sent, and never kept in the error bucket.
const secrets = { authorization: `Bearer postman-secret-${randomUUID()}`, apiKey: `postman-key-${randomUUID()}` };

const results: PassResult[] = [];
for (const [i, pass] of PASSES.entries()) {
  console.log(`\n=== test:postman ${i + 1}/${PASSES.length}: ${pass.name} (contracts ${JSON.stringify(pass.contracts)})`);
  const from = problems.length;
  const result = await runPass(pass);
  for (let p = from; p < problems.length; p++) problems[p] = `${pass.name}: ${problems[p]}`;
  if (result) results.push(result);
  // A pass that failed says why; the next ones would only repeat it, a twin's start later.
  if (problems.length > 0) break;
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (problems.length > 0) {
  console.error(`\ntest:postman FAILED (${seconds} s):\n${problems.map((p) => `  - ${p.replaceAll('\n', '\n    ')}`).join('\n')}`);
  process.exit(1);
}
const total = (key: keyof PassResult) => results.reduce((n, r) => n + r[key], 0);
console.log(
  `\ntest:postman passed in ${seconds} s: ${total('requests')} requests, ${total('assertions')} assertions in ${PASSES.length} runs ` +
    `(${results.map((r) => `${r.requests}/${r.assertions}`).join(', ')}); ` +
    `${total('quarantined')} rejected requests in the error bucket; ${total('loaded')} accepted events in raw_events, each once; ` +
    `${total('warnings')} contract warnings.`,
);
process.exit(0);

/** A twin with the pass's contracts, newman against it, then the error bucket, /status and, after a draining stop, raw_events. */
async function runPass(pass: Pass): Promise<PassResult | undefined> {
  const runId = `pm-local-${randomUUID()}`;
  const dataDir = tempDataDir();
  let twin: TwinProcess | undefined;
  let s3: S3Client | undefined;
  try {
    const config = join(dataDir, 'stage-config.json');
    writeFileSync(config, `${JSON.stringify({ contracts: pass.contracts })}\n`);
    twin = await spawnTwin(dataDir, ['--config', config, '--schemas-dir', SCHEMAS_DIR]);
    const { endpoints } = twin;

    const summary = await runCollection({
      collection: COLLECTION,
      environment: ENVIRONMENT,
      ...(pass.folder ? { folder: pass.folder } : {}),
      envVar: [
        { key: 'baseUrl', value: endpoints.api },
        { key: 'runId', value: runId },
        { key: 'authorization', value: secrets.authorization },
        { key: 'apiKey', value: secrets.apiKey },
        { key: 'contractsMode', value: pass.contracts.mode },
        { key: 'contractsUnknown', value: pass.contracts.unknown },
      ],
      reporters: ['cli'],
      timeoutRequest: 10_000,
    });
    checkRun(summary, pass);
    const answers = summary.run.executions.map(answerOf);
    const events = answers.filter((a) => a.method === 'POST' && a.path.endsWith('/events'));
    const warnings = checkWarnings(events, pass);

    // While the twin runs: its s3rver holds the error bucket, and /status its counts.
    s3 = createClients({ region: 'us-east-1', s3Endpoint: endpoints.s3 }, LOCAL_CREDENTIALS).s3;
    const quarantined = checkErrorBucket(events, await readErrorBucket(s3, endpoints.buckets.errors), pass);
    checkStatus(events, await readStatus(endpoints.api), pass);

    // SIGINT drains: every accepted record is delivered and loaded before the twin exits.
    const code = await stopWithin(twin, STOP_TIMEOUT_MS);
    if (code !== 0) problems.push(`the twin did not drain cleanly on SIGINT (exit code ${code})\n${twin.output()}`);
    const loaded = checkWarehouse(events, await readRawEvents(join(dataDir, 'warehouse.duckdb')), runId);
    return { requests: summary.run.stats.requests.total ?? 0, assertions: summary.run.stats.assertions.total ?? 0, quarantined, loaded, warnings };
  } catch (error) {
    // A failed check says what failed; anything else is a bug here, with its stack.
    problems.push(error instanceof CheckFailed ? error.message : `${(error as Error).stack ?? error}`);
    return undefined;
  } finally {
    s3?.destroy();
    // Only when a check stopped the pass before the draining stop: the data dir is removed anyway.
    if (twin && twin.child.exitCode === null && twin.child.signalCode === null) {
      const exited = once(twin.child, 'exit');
      twin.child.kill('SIGKILL');
      await exited;
    }
    removeDir(dataDir);
  }
}

function runCollection(options: NewmanRunOptions): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => newman.run(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** The collection (or the pass's folder) ran whole, and every assertion and script passed. */
function checkRun(summary: NewmanRunSummary, pass: Pass): void {
  const from = problems.length;
  if (summary.error) problems.push(`newman: ${summary.error.message ?? summary.error}`);
  for (const failure of summary.run.failures) {
    const where = failure.source?.name ? ` in "${failure.source.name}"` : '';
    problems.push(`newman ${failure.at}${where}: ${failure.error.test ? `${failure.error.test}: ` : ''}${failure.error.message}`);
  }
  const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as CollectionNode;
  const node = pass.folder ? collection.item?.find((i) => i.name === pass.folder && i.item) : collection;
  if (!node) throw new CheckFailed(`the collection has no folder "${pass.folder}"`);
  const items = countRequests(node);
  if (summary.run.executions.length !== items) problems.push(`newman ran ${summary.run.executions.length} requests; ${pass.folder ? `the folder "${pass.folder}"` : 'the collection'} has ${items}`);
  if (!summary.run.stats.assertions.total) problems.push('newman ran no assertions');
  if (problems.length > from) throw new CheckFailed("the collection did not pass: newman's report is above");
}

interface CollectionNode {
  name?: string;
  item?: CollectionNode[];
  request?: unknown;
}
function countRequests(node: CollectionNode): number {
  return (node.request ? 1 : 0) + (node.item ?? []).reduce((n, child) => n + countRequests(child), 0);
}

function answerOf(execution: NewmanRunExecution): Answer {
  const { item, request, response } = execution;
  if (!response) throw new CheckFailed(`"${item.name}" got no response`);
  const path = request.url.getPath();
  const contentType = request.headers.get('Content-Type') ?? '';
  const text = response.text() ?? '';
  let body: IngestResponse | undefined;
  if (request.method === 'POST' && path.endsWith('/events')) {
    try {
      body = JSON.parse(text) as IngestResponse;
    } catch {
      throw new CheckFailed(`"${item.name}" answered ${response.code} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }
  return { name: item.name, method: request.method, path, status: response.code, contentType, requestBody: request.body?.raw ?? '', body };
}

/** Warnings only in mode warn, and the ones the pass is there for were answered. Returns how many. */
function checkWarnings(events: Answer[], pass: Pass): number {
  const reasons = new Set(events.flatMap((a) => (a.body!.warnings ?? []).map((w) => w.reason)));
  const count = events.reduce((n, a) => n + (a.body!.warnings?.length ?? 0), 0);
  if (pass.contracts.mode !== 'warn' && count > 0) problems.push(`${count} warnings answered in contract mode ${pass.contracts.mode}`);
  for (const reason of pass.mustWarn) if (!reasons.has(reason)) problems.push(`no answer warned of ${reason}: the contract cases did not run as meant`);
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
    keys.map(async (key) => ({ key, text: await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString() })),
  );
}

/** Each request with anything rejected has one quarantine object, matching its answer; the others have none. Returns how many were found. */
function checkErrorBucket(events: Answer[], objects: { key: string; text: string }[], pass: Pass): number {
  const byRequest = new Map<string, QuarantineObject[]>();
  for (const { key, text } of objects) {
    if (text.includes(secrets.authorization.slice('Bearer '.length)) || text.includes(secrets.apiKey)) {
      problems.push(`quarantine object ${key} holds the Authorization or API-key header`);
    }
    const parsed = quarantineObjectSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      problems.push(`quarantine object ${key} does not match quarantineObjectSchema: ${parsed.error.message}`);
      continue;
    }
    byRequest.set(parsed.data.request_id, [...(byRequest.get(parsed.data.request_id) ?? []), parsed.data]);
  }
  let expected = 0;
  const quarantinedReasons = new Set<string>();
  for (const answer of events) {
    const body = answer.body!;
    const found = byRequest.get(body.requestId) ?? [];
    const rejectedSomething = body.errors.length > 0;
    if (!rejectedSomething) {
      if (found.length > 0) problems.push(`"${answer.name}" (${answer.status}, nothing rejected) has ${found.length} quarantine object(s)`);
      continue;
    }
    expected++;
    if (found.length !== 1) {
      problems.push(`"${answer.name}" (${answer.status}, request ${body.requestId}) has ${found.length} quarantine objects in the error bucket, not 1`);
      continue;
    }
    const object = found[0]!;
    const reasons = [...new Set(body.errors.map((e) => e.reason))].sort();
    const mismatches = [
      object.status !== answer.status && `status ${object.status}, answered ${answer.status}`,
      JSON.stringify([...object.reasons].sort()) !== JSON.stringify(reasons) && `reasons ${object.reasons.join(',')}, answered ${reasons.join(',')}`,
      object.accepted !== body.accepted && `accepted ${object.accepted}, answered ${body.accepted}`,
      object.rejected !== body.rejected && `rejected ${object.rejected}, answered ${body.rejected}`,
      object.headers['content-type'] !== answer.contentType && `content-type ${object.headers['content-type']}, sent ${answer.contentType}`,
    ].filter(Boolean);
    const wholeRequest = body.errors.length === 1 && body.errors[0]!.index === null;
    if (wholeRequest) {
      // Refused as a whole: the body is kept as received (truncated past the quarantine limit, with its true size).
      if (!object.body) mismatches.push('no body kept');
      else if (object.body.size !== Buffer.byteLength(answer.requestBody)) mismatches.push(`body size ${object.body.size}, sent ${Buffer.byteLength(answer.requestBody)}`);
      else if (!object.body.truncated && object.body.data !== answer.requestBody) mismatches.push('the body kept is not the body sent');
    } else {
      const kept = object.records.map((r) => `${r.index}:${r.reason}`).join(',');
      const answered = body.errors.map((e) => `${e.index}:${e.reason}`).join(',');
      if (kept !== answered) mismatches.push(`records ${kept} (index:reason), answered ${answered}`);
      for (const record of object.records) {
        quarantinedReasons.add(record.reason);
        if (record.reason === 'schema_violation' || record.reason === 'unknown_schema') mismatches.push(...checkContractRecord(answer, record));
      }
    }
    if (mismatches.length > 0) problems.push(`"${answer.name}": its quarantine object differs from the answer: ${mismatches.join('; ')}`);
  }
  if (objects.length !== expected) problems.push(`the error bucket holds ${objects.length} objects; the run rejected input in ${expected} requests`);
  for (const reason of pass.mustQuarantine) {
    if (!quarantinedReasons.has(reason)) problems.push(`no record was quarantined as ${reason}: the contract cases did not run as meant`);
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
  if (record.input.truncated || record.input.encoding !== 'utf8' || !isDeepStrictEqual(kept, sent)) mismatches.push(`${where}: the input kept is not the record sent`);
  const named = { type: sent.type, version: Number(sent.schema_version) };
  if (record.reason === 'schema_violation') {
    if (!isDeepStrictEqual(record.schema, named)) mismatches.push(`${where}: schema ${JSON.stringify(record.schema)}, the record names ${JSON.stringify(named)}`);
    if (record.issues.length === 0) mismatches.push(`${where}: no issues kept`);
    for (const issue of record.issues) {
      if (!issue.keyword || !issue.schemaPath?.startsWith('#/')) mismatches.push(`${where}: issue ${JSON.stringify(issue)} has no keyword or schemaPath`);
    }
  } else {
    // No schema to break: no issues. The schema named is kept when the type has schemas (only the version has none).
    if (record.issues.length > 0) mismatches.push(`${where}: ${record.issues.length} issues kept, none expected`);
    if (record.schema && !isDeepStrictEqual(record.schema, named)) mismatches.push(`${where}: schema ${JSON.stringify(record.schema)}, the record names ${JSON.stringify(named)}`);
  }
  return mismatches;
}

async function readStatus(api: string): Promise<TwinStatus> {
  const response = await fetch(`${api}/status`);
  if (!response.ok) throw new CheckFailed(`GET /status answered ${response.status}`);
  return (await response.json()) as TwinStatus;
}

/** The twin runs in the contract mode asked for, with the repository's schemas, and counted what it answered. */
function checkStatus(events: Answer[], status: TwinStatus, pass: Pass): void {
  const sum = (f: (b: IngestResponse) => number) => events.reduce((n, a) => n + f(a.body!), 0);
  const expected = {
    mode: pass.contracts.mode,
    accepted: sum((b) => b.accepted),
    quarantinedRecords: sum((b) => b.rejected),
    schemaWarnings: sum((b) => b.warnings?.length ?? 0),
  };
  const actual = {
    mode: status.contracts.mode,
    accepted: status.api.accepted,
    quarantinedRecords: status.api.quarantinedRecords,
    schemaWarnings: status.api.schemaWarnings,
  };
  if (!isDeepStrictEqual(actual, expected)) problems.push(`the twin's /status says ${JSON.stringify(actual)}; the answers say ${JSON.stringify(expected)}`);
  for (const schema of ['page_view/2', 'order_placed/1']) {
    if (pass.contracts.mode !== 'off' && !status.contracts.schemas.includes(schema)) problems.push(`the twin has no schema ${schema} (it has ${status.contracts.schemas.join(', ') || 'none'})`);
  }
}

async function readRawEvents(path: string): Promise<{ id: string; requestId: string }[]> {
  const { instance, connection } = await openWarehouse(path, { readOnly: true });
  try {
    const { rows } = await query(connection, `SELECT record->>'id' AS id, request_id FROM raw_events`);
    return rows.map((r) => ({ id: String(r.id), requestId: String(r.request_id) }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The records of a request body, as the contract splits them: one object, a JSON array, or NDJSON lines. */
function recordsOf(answer: Answer): unknown[] {
  if (/ndjson|jsonl|jsonlines/i.test(answer.contentType)) {
    return answer.requestBody
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  }
  const value = JSON.parse(answer.requestBody) as unknown;
  return Array.isArray(value) ? value : [value];
}

/** Every accepted record is in raw_events exactly once, with its request's id, and nothing else is. Returns how many. */
function checkWarehouse(events: Answer[], rows: { id: string; requestId: string }[], runId: string): number {
  const expected = new Map<string, string>(); // id → request id
  for (const answer of events) {
    const body = answer.body!;
    if (body.accepted === 0) continue;
    const rejected = new Set(body.errors.map((e) => e.index));
    const accepted = recordsOf(answer).flatMap((record, index) => (rejected.has(index) ? [] : [String((record as { id: unknown }).id)]));
    if (accepted.length !== body.accepted) problems.push(`"${answer.name}" answered accepted ${body.accepted}, but its body holds ${accepted.length} records not rejected`);
    for (const id of accepted) {
      if (!id.startsWith(runId)) problems.push(`"${answer.name}" sent id ${id}, which does not start with the run's runId ${runId}`);
      expected.set(id, body.requestId);
    }
  }
  if (expected.size === 0) problems.push('the run accepted no events, so nothing could be checked in raw_events');
  const found = new Map<string, string[]>(); // id → request ids of its rows
  for (const row of rows) found.set(row.id, [...(found.get(row.id) ?? []), row.requestId]);
  for (const [id, requestId] of expected) {
    const requestIds = found.get(id) ?? [];
    if (requestIds.length === 0) problems.push(`accepted event ${id} is not in raw_events`);
    else if (requestIds.length > 1) problems.push(`accepted event ${id} is in raw_events ${requestIds.length} times`);
    else if (requestIds[0] !== requestId) problems.push(`event ${id} is in raw_events with request_id ${requestIds[0]}, answered ${requestId}`);
  }
  for (const [id, requestIds] of found) if (!expected.has(id)) problems.push(`raw_events holds ${id} (request ${requestIds.join(', ')}), which was never accepted`);
  return expected.size;
}

async function stopWithin(twin: TwinProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const result = await Promise.race([stopTwin(twin, 'SIGINT'), timeout]);
  clearTimeout(timer);
  if (result === 'timeout') throw new CheckFailed(`the twin did not stop within ${ms / 1000} s of SIGINT\n${twin.output()}`);
  return result;
}
