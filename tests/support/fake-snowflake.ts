/**
 * A strict fake of Snowflake's SQL API v2 (a node:http server) for the client's
 * tests: it refuses what Snowflake refuses, so a client that passes here sends
 * what Snowflake accepts. Shapes and codes from snowflakedb's sqlapi.yaml and
 * https://docs.snowflake.com/en/developer-guide/sql-api/reference.
 *
 * - Auth: a key-pair JWT, RS256, verified against the user's registered public
 *   key; `sub` = ACCOUNT.USER, `iss` = sub + '.SHA256:' + that key's fingerprint,
 *   at most an hour between `iat` and `exp`, not expired. Else 401 (390144).
 * - Statements run only when a handler's regex matches; anything else is a
 *   SQL compilation error (422, 001003 / 42000), as unknown SQL would be.
 * - USE, ALTER SESSION, BEGIN/COMMIT/ROLLBACK, SET and CREATE TEMPORARY only
 *   inside a multi-statement request; the statement count must match
 *   MULTI_STATEMENT_COUNT (default 1).
 * - `requestId` + `retry=true`: a statement that already ran (or is running)
 *   under that id is not run again; its result is answered.
 * - Slow statements answer 202 (333334) until polled enough; large results
 *   are split into partitions; 429s (390505) now and then when asked.
 * - Every request is recorded, and every statement that really ran.
 */
import { createHash, createPublicKey, type KeyObject, randomUUID, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeOutcome =
  | { columns: string[]; rows: (string | null)[][] }
  | { error: { code: string; sqlState: string; message: string } }
  /** Snowflake cancelled it at its timeout: 408. */
  | { timeout: true };

export interface StatementContext {
  database?: string;
  schema?: string;
  warehouse?: string;
  role?: string;
  bindings?: Record<string, { type: string; value: string | null }>;
  /** Set by a `USE SECONDARY ROLES …` earlier in the same multi-statement request. */
  secondaryRoles?: string;
}

export interface FakeHandler {
  match: RegExp;
  result: FakeOutcome | ((match: RegExpMatchArray, context: StatementContext) => FakeOutcome);
  /** How many 202s (the submit's included) before the result is ready. */
  slowPolls?: number;
}

/** A fault for the next request(s): answered instead of (or, with `afterExecute`, after) doing the work. */
export interface Fault {
  status?: number;
  retryAfterSeconds?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Run the statement first, then lose the answer (a submit only). */
  afterExecute?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number | 'reset';
  /** Why a 401 was answered. */
  rejected?: string;
}

export interface Execution {
  statement: string;
  requestId: string;
  handle: string;
  context: StatementContext;
}

export interface FakeSnowflakeOptions {
  /** The account as the JWT names it, e.g. MYORG-MYACCOUNT. */
  account: string;
  /** User name → the public key registered to it (ALTER USER … SET RSA_PUBLIC_KEY). */
  users: Record<string, KeyObject | string>;
  handlers?: FakeHandler[];
  /** Rows per result partition. */
  partitionRows?: number;
  /** Every nth statement submitted is answered 429 before it runs. */
  throttleEvery?: number;
  now?: () => number;
}

export interface FakeSnowflake {
  url: string;
  requests: RecordedRequest[];
  executions: Execution[];
  handlers: FakeHandler[];
  failNext(...faults: Fault[]): void;
  /** While true, every connection is dropped unanswered (Snowflake unreachable: a network policy, an outage). */
  unreachable: boolean;
  close(): Promise<void>;
}

type Stored = {
  handle: string;
  requestId: string;
  pollsLeft: number;
  outcome: FakeOutcome | { handles: string[] };
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What the SQL API runs only inside a multi-statement request (sqlapi.yaml, `statement`; docs: Limitations of the SQL API). */
const SESSION_ONLY =
  /^\s*(USE\b|ALTER\s+SESSION\b|BEGIN\b|START\s+TRANSACTION\b|COMMIT\b|ROLLBACK\b|SET\b|UNSET\b|CREATE\s+(OR\s+REPLACE\s+)?TEMP(ORARY)?\b)/i;
const JWT_MAX_LIFETIME_SECONDS = 3600;

const sqlError = (code: string, sqlState: string, message: string): FakeOutcome => ({ error: { code, sqlState, message } });

/** Splits on semicolons outside quotes, $$…$$ bodies and comments; empty statements (a trailing `;`) are dropped. */
export function splitStatements(sql: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    const two = sql.slice(i, i + 2);
    const close = ch === "'" || ch === '"' ? ch : two === '$$' ? '$$' : two === '--' ? '\n' : two === '/*' ? '*/' : undefined;
    if (close) {
      const end = sql.indexOf(close, i + (close === ch ? 1 : 2));
      const stop = end < 0 ? sql.length : end + close.length;
      current += sql.slice(i, stop);
      i = stop - 1;
    } else if (ch === ';') {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

export function fingerprint(key: KeyObject | string): string {
  const der = (typeof key === 'string' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

export async function startFakeSnowflake(options: FakeSnowflakeOptions): Promise<FakeSnowflake> {
  const now = options.now ?? Date.now;
  const partitionRows = options.partitionRows ?? 1000;
  const account = options.account.toUpperCase();
  const users = new Map(
    Object.entries(options.users).map(([user, key]) => [user.toUpperCase(), typeof key === 'string' ? createPublicKey(key) : key]),
  );
  const handlers = [...(options.handlers ?? [])];
  const requests: RecordedRequest[] = [];
  const executions: Execution[] = [];
  const faults: Fault[] = [];
  const statements = new Map<string, Stored>();
  const byRequestId = new Map<string, string>();
  let submits = 0;

  /** Why this token is refused, or undefined when it is good. */
  function jwtProblem(authorization: string | undefined, tokenType: string | undefined): string | undefined {
    if (tokenType !== undefined && tokenType.toUpperCase() !== 'KEYPAIR_JWT') return `token type ${tokenType}`;
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) return 'no Bearer JWT';
    const [header, payload, signature] = token.split('.') as [string, string, string];
    let head: { alg?: string };
    let claims: { iss?: unknown; sub?: unknown; iat?: unknown; exp?: unknown };
    try {
      head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return 'not JSON';
    }
    if (head.alg !== 'RS256') return `alg ${head.alg}`;
    const [subAccount, subUser, ...extra] = String(claims.sub).split('.');
    if (extra.length > 0 || subAccount !== account || !subUser) return `sub ${String(claims.sub)}`;
    const key = users.get(subUser);
    if (!key) return `unknown user ${subUser}`;
    if (claims.iss !== `${claims.sub}.${fingerprint(key)}`) return 'iss does not name the registered key';
    if (!verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) return 'bad signature';
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return 'no iat/exp';
    // Seconds or milliseconds are both accepted (docs: "seconds or milliseconds").
    const seconds = (t: number) => (t > 1e11 ? t / 1000 : t);
    const iat = seconds(claims.iat);
    const exp = seconds(claims.exp);
    if (exp - iat > JWT_MAX_LIFETIME_SECONDS) return 'lives longer than an hour';
    if (now() / 1000 >= exp) return 'expired';
    if (iat > now() / 1000 + 60) return 'issued in the future';
    return undefined;
  }

  function run(sql: string, requestId: string, handle: string, context: StatementContext): FakeOutcome {
    for (const handler of handlers) {
      const match = handler.match.exec(sql);
      if (!match) continue;
      executions.push({ statement: sql, requestId, handle, context });
      return typeof handler.result === 'function' ? handler.result(match, context) : handler.result;
    }
    const word = sql.split(/\s+/)[0] ?? '';
    return sqlError('001003', '42000', `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${word}'.`);
  }

  function submit(body: Record<string, unknown>, requestId: string): Stored {
    const sql = String(body.statement ?? '');
    const parameters = (body.parameters ?? {}) as Record<string, unknown>;
    const countParameter = Object.entries(parameters).find(([name]) => name.toUpperCase() === 'MULTI_STATEMENT_COUNT')?.[1];
    const expected = countParameter === undefined ? 1 : Number(countParameter);
    const parts = splitStatements(sql);
    const context: StatementContext = {};
    for (const key of ['database', 'schema', 'warehouse', 'role', 'bindings'] as const) {
      if (body[key] !== undefined) Object.assign(context, { [key]: body[key] });
    }
    const handle = randomUUID();
    const stored: Stored = { handle, requestId, pollsLeft: 0, outcome: { columns: [], rows: [] } };
    statements.set(handle, stored);
    if (!Number.isInteger(expected) || expected < 0) {
      stored.outcome = sqlError('000008', '0A000', `invalid MULTI_STATEMENT_COUNT ${String(countParameter)}`);
    } else if (expected !== 0 && expected !== parts.length) {
      stored.outcome = sqlError(
        '000008',
        '0A000',
        `Actual statement count ${parts.length} did not match the desired statement count ${expected}.`,
      );
    } else if (parts.length === 1) {
      const [only] = parts as [string];
      if (SESSION_ONLY.test(only)) {
        // The code third-party clients report for USE through the API; the rule itself is in sqlapi.yaml.
        stored.outcome = sqlError(
          '391911',
          '0A000',
          `Unsupported statement type '${only.split(/\s+/)[0]!.toUpperCase()}' outside a multi-statement request.`,
        );
      } else {
        stored.pollsLeft = handlers.find((h) => h.match.test(only))?.slowPolls ?? 0;
        stored.outcome = run(only, requestId, handle, context);
      }
    } else {
      // Each statement gets its handle; the first failure stops the rest and fails the request.
      const handles: string[] = [];
      let session = context;
      for (const part of parts) {
        const child: Stored = { handle: randomUUID(), requestId, pollsLeft: 0, outcome: { columns: [], rows: [] } };
        statements.set(child.handle, child);
        child.outcome = SESSION_ONLY.test(part)
          ? { columns: ['status'], rows: [['Statement executed successfully.']] }
          : run(part, requestId, child.handle, session);
        // The statements after a USE run in what it set: what the catalog records them under.
        const use = /^\s*USE\s+(ROLE|SECONDARY\s+ROLES)\s+(\w+)\s*$/i.exec(part);
        if (use) session = /^ROLE$/i.test(use[1]!) ? { ...session, role: use[2]! } : { ...session, secondaryRoles: use[2]!.toUpperCase() };
        if (SESSION_ONLY.test(part)) executions.push({ statement: part, requestId, handle: child.handle, context });
        handles.push(child.handle);
        if ('error' in child.outcome) {
          stored.outcome = child.outcome;
          return stored;
        }
      }
      stored.outcome = { handles };
    }
    return stored;
  }

  /** The answer for a statement now: 202 while it "runs", then 200, 422 or 408. */
  function answer(stored: Stored, partition: number): { status: number; body: unknown } {
    const statementStatusUrl = `/api/v2/statements/${stored.handle}`;
    if (stored.pollsLeft > 0) {
      stored.pollsLeft -= 1;
      return {
        status: 202,
        body: {
          code: '333334',
          message: 'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.',
          statementHandle: stored.handle,
          statementStatusUrl,
        },
      };
    }
    const outcome = stored.outcome;
    if ('error' in outcome) return { status: 422, body: { ...outcome.error, statementHandle: stored.handle, statementStatusUrl } };
    if ('timeout' in outcome) {
      return {
        status: 408,
        body: {
          code: '000630',
          sqlState: '57014',
          message: 'Statement reached its statement or warehouse timeout and was canceled.',
          statementHandle: stored.handle,
        },
      };
    }
    const ok = {
      code: '090001',
      sqlState: '00000',
      message: 'Statement executed successfully.',
      statementHandle: stored.handle,
      statementStatusUrl,
    };
    if ('handles' in outcome) {
      return {
        status: 200,
        body: {
          ...ok,
          resultSetMetaData: {
            numRows: 1,
            format: 'jsonv2',
            rowType: [{ name: 'multiple statement execution', type: 'text', nullable: false }],
            partitionInfo: [{ rowCount: 1 }],
          },
          data: [['Multiple statements executed successfully.']],
          statementHandles: outcome.handles,
        },
      };
    }
    const chunks: (string | null)[][][] = [];
    for (let i = 0; i < outcome.rows.length; i += partitionRows) chunks.push(outcome.rows.slice(i, i + partitionRows));
    if (chunks.length === 0) chunks.push([]);
    if (partition >= chunks.length)
      return {
        status: 422,
        body: { code: '000709', sqlState: '02000', message: `partition ${partition} does not exist`, statementHandle: stored.handle },
      };
    // A later partition: its rows only, all the client may rely on (the metadata came with partition 0).
    if (partition > 0) return { status: 200, body: { data: chunks[partition] } };
    return {
      status: 200,
      body: {
        ...ok,
        createdOn: now(),
        resultSetMetaData: {
          numRows: outcome.rows.length,
          format: 'jsonv2',
          rowType: outcome.columns.map((name) => ({ name, type: 'text', nullable: true })),
          partitionInfo: chunks.map((chunk) => ({ rowCount: chunk.length, uncompressedSize: JSON.stringify(chunk).length })),
        },
        data: chunks[0],
      },
    };
  }

  function route(
    req: http.IncomingMessage,
    url: URL,
    body: unknown,
    record: RecordedRequest,
  ): { status: number; body: unknown; headers?: Record<string, string> } | 'reset' {
    const fault = faults[0];
    if (fault && !fault.afterExecute) {
      faults.shift();
      if (fault.reset) return 'reset';
      return {
        status: fault.status ?? 503,
        body: { message: 'fault' },
        ...(fault.retryAfterSeconds !== undefined ? { headers: { 'Retry-After': String(fault.retryAfterSeconds) } } : {}),
      };
    }
    const problem = jwtProblem(req.headers.authorization, req.headers['x-snowflake-authorization-token-type'] as string | undefined);
    if (problem) {
      record.rejected = problem;
      return { status: 401, body: { code: '390144', message: 'JWT token is invalid.' } };
    }
    // "You must use a value that complies with RFC 7231" (sqlapi.yaml): a product token.
    if (!/^[\w!#$%&'*+.^`|~-]+(\/[\w!#$%&'*+.^`|~-]+)?( .*)?$/.test(req.headers['user-agent'] ?? '')) {
      return { status: 400, body: { code: '391903', message: 'User-Agent header is missing or invalid.' } };
    }
    if (!/application\/json|\*\/\*/.test(req.headers.accept ?? ''))
      return { status: 406, body: { message: 'Accept must allow application/json' } };

    const statementPath = /^\/api\/v2\/statements\/([^/]+)(\/cancel)?$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/api/v2/statements') {
      // "If any other media type is specified, this error is returned" (sqlapi.yaml, 415).
      const type = req.headers['content-type'];
      if (type !== undefined && !/^application\/json\b/.test(type)) return { status: 415, body: { message: `unsupported ${type}` } };
      if (typeof body !== 'object' || body === null || typeof (body as { statement?: unknown }).statement !== 'string') {
        return { status: 400, body: { message: 'the body must be JSON with a statement' } };
      }
      const requestId = url.searchParams.get('requestId') ?? randomUUID();
      if (!UUID.test(requestId)) return { status: 400, body: { message: `requestId ${requestId} is not a UUID` } };
      const earlier = byRequestId.get(requestId);
      if (earlier) {
        const stored = statements.get(earlier)!;
        // Stricter than Snowflake may be: our client never reuses an id without saying it is a resend.
        if (url.searchParams.get('retry') !== 'true')
          return {
            status: 422,
            body: {
              code: '000001',
              sqlState: '22000',
              message: `requestId ${requestId} was already used; resend with retry=true`,
              statementHandle: earlier,
            },
          };
        // "Snowflake does not execute the statement again if … already executed successfully": a failure runs again.
        if (!('error' in stored.outcome)) return answer(stored, 0);
      }
      submits += 1;
      if (options.throttleEvery && submits % options.throttleEvery === 0) {
        return { status: 429, body: { code: '390505', message: 'Too many requests. Please retry later.' } };
      }
      const stored = submit(body as Record<string, unknown>, requestId);
      byRequestId.set(requestId, stored.handle);
      const late = faults[0];
      if (late?.afterExecute) {
        faults.shift();
        if (late.reset) return 'reset';
        return { status: late.status ?? 503, body: { message: 'fault after execution' } };
      }
      return answer(stored, 0);
    }
    if (statementPath && req.method === 'GET' && !statementPath[2]) {
      const stored = statements.get(statementPath[1]!);
      if (!stored)
        return {
          status: 422,
          body: {
            code: '000709',
            sqlState: '02000',
            message: `Statement ${statementPath[1]} not found`,
            statementHandle: statementPath[1],
          },
        };
      const partition = Number(url.searchParams.get('partition') ?? 0);
      return answer(stored, partition);
    }
    if (statementPath && req.method === 'POST' && statementPath[2]) {
      const stored = statements.get(statementPath[1]!);
      if (!stored)
        return {
          status: 422,
          body: { code: '000709', sqlState: '02000', message: 'Statement not found', statementHandle: statementPath[1] },
        };
      stored.pollsLeft = 0;
      stored.outcome = sqlError('000604', '57014', 'SQL execution canceled');
      return { status: 200, body: { code: '000604', sqlState: '57014', message: 'successfully canceled', statementHandle: stored.handle } };
    }
    return { status: 404, body: { message: `no ${req.method} ${url.pathname}` } };
  }

  let unreachable = false;
  const server = http.createServer(async (req, res) => {
    if (unreachable) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      status: 0,
    };
    requests.push(record);
    const reply = route(req, url, body, record);
    if (reply === 'reset') {
      record.status = 'reset';
      req.socket.destroy();
      return;
    }
    record.status = reply.status;
    res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    executions,
    handlers,
    failNext: (...more) => faults.push(...more),
    get unreachable() {
      return unreachable;
    },
    set unreachable(value: boolean) {
      unreachable = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
