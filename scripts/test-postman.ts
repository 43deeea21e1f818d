/**
 * `pnpm test:postman`: the producers' Postman collection (tests/postman/), run
 * by newman against a fresh local twin, then the half of the contract that no
 * HTTP answer shows:
 *
 * - every rejected request is in the error bucket, once, under its requestId,
 *   with the status and reasons it was answered, and without the auth headers;
 * - after a draining stop (SIGINT), every record the API accepted is in
 *   raw_events exactly once with its request's id, and nothing else is.
 *
 * The twin runs on free ports and a temporary data dir, both gone afterwards.
 * Exits non-zero, saying why, on any failure. Against a deployed stage, use
 * `pnpm postman --env-var baseUrl=https://…` instead (HTTP checks only).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { quarantineObjectSchema, type IngestResponse, type QuarantineObject } from '@snowgate/core';
import { createClients } from '@snowgate/functions/clients';
import { openWarehouse, query } from '@snowgate/twin';
import newman, { type NewmanRunExecution, type NewmanRunOptions, type NewmanRunSummary } from 'newman';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, spawnTwin, stopTwin, tempDataDir, type TwinProcess } from '../tests/twin/support';

const root = new URL('../', import.meta.url).pathname;
const COLLECTION = join(root, 'tests/postman/snowgate.postman_collection.json');
const ENVIRONMENT = join(root, 'tests/postman/local.postman_environment.json');
/** Credentials s3rver accepts; nothing leaves this machine. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
/** A draining stop delivers and loads everything buffered: seconds, not minutes. */
const STOP_TIMEOUT_MS = 30_000;

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

/** A check that failed; its message says what, and the run stops there. */
class CheckFailed extends Error {}

const started = Date.now();
const problems: string[] = [];
const runId = `pm-local-${randomUUID()}`;
// The twin ignores auth, so these only have to be sent, and never kept in the error bucket.
const secrets = { authorization: `Bearer postman-secret-${randomUUID()}`, apiKey: `postman-key-${randomUUID()}` };

const dataDir = tempDataDir();
let twin: TwinProcess | undefined;
let s3: S3Client | undefined;
let summary: NewmanRunSummary | undefined;
let quarantined = 0;
let loaded = 0;
try {
  twin = await spawnTwin(dataDir);
  const { endpoints } = twin;

  summary = await runCollection({
    collection: COLLECTION,
    environment: ENVIRONMENT,
    envVar: [
      { key: 'baseUrl', value: endpoints.api },
      { key: 'runId', value: runId },
      { key: 'authorization', value: secrets.authorization },
      { key: 'apiKey', value: secrets.apiKey },
    ],
    reporters: ['cli'],
    timeoutRequest: 10_000,
  });
  checkRun(summary);
  const answers = summary.run.executions.map(answerOf);
  const events = answers.filter((a) => a.method === 'POST' && a.path.endsWith('/events'));

  // While the twin runs: its s3rver holds the error bucket.
  s3 = createClients({ region: 'us-east-1', s3Endpoint: endpoints.s3 }, LOCAL_CREDENTIALS).s3;
  quarantined = checkErrorBucket(events, await readErrorBucket(s3, endpoints.buckets.errors));

  // SIGINT drains: every accepted record is delivered and loaded before the twin exits.
  const code = await stopWithin(twin, STOP_TIMEOUT_MS);
  if (code !== 0) problems.push(`the twin did not drain cleanly on SIGINT (exit code ${code})\n${twin.output()}`);
  loaded = checkWarehouse(events, await readRawEvents(join(dataDir, 'warehouse.duckdb')));
} catch (error) {
  // A failed check says what failed; anything else is a bug here, with its stack.
  problems.push(error instanceof CheckFailed ? error.message : `${(error as Error).stack ?? error}`);
} finally {
  s3?.destroy();
  // Only when a check stopped the run before the draining stop: the data dir is removed anyway.
  if (twin && twin.child.exitCode === null && twin.child.signalCode === null) {
    const exited = once(twin.child, 'exit');
    twin.child.kill('SIGKILL');
    await exited;
  }
  removeDir(dataDir);
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (problems.length > 0) {
  console.error(`\ntest:postman FAILED (${seconds} s):\n${problems.map((p) => `  - ${p.replaceAll('\n', '\n    ')}`).join('\n')}`);
  process.exit(1);
}
const stats = summary!.run.stats;
console.log(
  `\ntest:postman passed in ${seconds} s: ${stats.requests.total} requests, ${stats.assertions.total} assertions; ` +
    `${quarantined} rejected requests in the error bucket; ${loaded} accepted events in raw_events, each once.`,
);
process.exit(0);

function runCollection(options: NewmanRunOptions): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => newman.run(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** The collection ran whole, and every assertion and script passed. */
function checkRun(summary: NewmanRunSummary): void {
  if (summary.error) problems.push(`newman: ${summary.error.message ?? summary.error}`);
  for (const failure of summary.run.failures) {
    const where = failure.source?.name ? ` in "${failure.source.name}"` : '';
    problems.push(`newman ${failure.at}${where}: ${failure.error.test ? `${failure.error.test}: ` : ''}${failure.error.message}`);
  }
  const items = countRequests(JSON.parse(readFileSync(COLLECTION, 'utf8')) as CollectionNode);
  if (summary.run.executions.length !== items) problems.push(`newman ran ${summary.run.executions.length} requests; the collection has ${items}`);
  if (!summary.run.stats.assertions.total) problems.push('newman ran no assertions');
  if (problems.length > 0) throw new CheckFailed('the collection did not pass: newman\'s report is above');
}

interface CollectionNode {
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
function checkErrorBucket(events: Answer[], objects: { key: string; text: string }[]): number {
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
      const indexes = object.records.map((r) => r.index);
      if (JSON.stringify(indexes) !== JSON.stringify(body.errors.map((e) => e.index))) mismatches.push(`records at ${indexes.join(',')}, answered ${body.errors.map((e) => e.index).join(',')}`);
    }
    if (mismatches.length > 0) problems.push(`"${answer.name}": its quarantine object differs from the answer: ${mismatches.join('; ')}`);
  }
  if (objects.length !== expected) problems.push(`the error bucket holds ${objects.length} objects; the run rejected input in ${expected} requests`);
  return expected;
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
function checkWarehouse(events: Answer[], rows: { id: string; requestId: string }[]): number {
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
