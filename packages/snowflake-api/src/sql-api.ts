import { randomUUID } from 'node:crypto';
import { type BackoffSettings, backoffMs, DEFAULT_BACKOFF, parseRetryAfter, retryVerdict } from './retry.js';
import type { Binding, QueryFailureStatus, QueryStatus, ResultSet, SubmitStatementRequest } from './types.js';

/**
 * A client for Snowflake's SQL API v2 (https://docs.snowflake.com/en/developer-guide/sql-api/reference):
 * submits a statement, waits for it (polling 202s), reads every partition of its
 * result and, for a multi-statement request, each statement's result.
 */

export const STATEMENTS_PATH = '/api/v2/statements';
/** "You must use a value that complies with RFC 7231" (sqlapi.yaml, User-Agent): a product token. */
export const DEFAULT_USER_AGENT = 'snowgate/0.1.0';

/** Something the SQL API refused or could not do; never carries the token. */
export class SnowflakeApiError extends Error {
  override name = 'SnowflakeApiError';
  constructor(
    message: string,
    readonly details: {
      status?: number | undefined;
      code?: string | undefined;
      sqlState?: string | undefined;
      statementHandle?: string | undefined;
    } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  get status() {
    return this.details.status;
  }
  get statementHandle() {
    return this.details.statementHandle;
  }
}

/** 422: the statement failed; Snowflake's code, SQL state and message, e.g. `002003` / `02000` "… does not exist". */
export class SnowflakeSqlError extends SnowflakeApiError {
  override name = 'SnowflakeSqlError';
  get code() {
    return this.details.code;
  }
  get sqlState() {
    return this.details.sqlState;
  }
}

/** 408 (Snowflake cancelled the statement at its `timeout`), or our deadline passed while it ran (we cancel it). */
export class SnowflakeTimeoutError extends SnowflakeApiError {
  override name = 'SnowflakeTimeoutError';
}

/** Where the bearer token comes from: `JwtSource` for key-pair auth. */
export interface TokenSource {
  token(): string;
  /** Forget the cached token: the next `token()` mints a new one. */
  invalidate(): void;
  /** `X-Snowflake-Authorization-Token-Type`; KEYPAIR_JWT unless said otherwise. */
  readonly tokenType?: string;
}

export interface SqlApiClientOptions {
  /** `https://<account>.snowflakecomputing.com`, or a fake's URL in tests. */
  baseUrl: string;
  auth: TokenSource;
  userAgent?: string;
  /** Retries of 429 / 503 / 504 / network errors (see retry.ts). */
  backoff?: Partial<BackoffSettings>;
  /** First wait between polls of a running statement; doubles up to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** How long one `execute` may take in all, polls included (default 10 min, under a Lambda's 15). */
  deadlineMs?: number;
  /** One HTTP exchange; a synchronous submit answers within 45 s (then 202), so a minute is ample. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface ExecuteOptions {
  /** Context for the statement (case-sensitive): the API refuses `USE` outside a multi-statement request. */
  database?: string;
  schema?: string;
  warehouse?: string;
  role?: string;
  bindings?: Record<string, Binding>;
  /** Snowflake cancels the statement after this many seconds (0 = its maximum, 7 days). */
  timeout?: number;
  /** Statements in `statement`, separated by `;` (0 = any number). Needed for more than one. */
  multiStatementCount?: number;
  /** The idempotency key of this logical statement; a UUID. Generated when absent. */
  requestId?: string;
  /**
   * The request may have been sent before under this `requestId`, by an earlier process (one whose
   * answer was lost): say `retry=true` from the first attempt, so that Snowflake answers the earlier
   * run instead of running the statement again. Only with a `requestId` derived from the statement.
   */
  retry?: boolean;
  queryTag?: string;
  deadlineMs?: number;
}

export type Row = Record<string, string | null>;

export interface StatementResult {
  statementHandle: string;
  /** Column names in order (`rowType[].name`). */
  columns: string[];
  /** Every row, all partitions, as column name → value (Snowflake sends every value as a string or null). */
  rows: Row[];
  /** A multi-statement request's statements, in order, each with its own result. */
  statements?: StatementResult[];
  stats?: ResultSet['stats'];
}

interface Answer {
  status: number;
  body: unknown;
  retryAfterMs: number | undefined;
}

export class SqlApiClient {
  readonly #base: URL;
  readonly #auth: TokenSource;
  readonly #userAgent: string;
  readonly #backoff: BackoffSettings;
  readonly #pollMs: number;
  readonly #maxPollMs: number;
  readonly #deadlineMs: number;
  readonly #requestTimeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: SqlApiClientOptions) {
    this.#base = new URL(options.baseUrl);
    this.#auth = options.auth;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#pollMs = options.pollIntervalMs ?? 250;
    this.#maxPollMs = options.maxPollIntervalMs ?? 5_000;
    this.#deadlineMs = options.deadlineMs ?? 600_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  /**
   * Runs `statement` and returns its rows.
   *
   * @example
   * await client.execute('SELECT COUNT(*) AS N FROM RAW_EVENTS', { database: 'SNOWGATE', schema: 'RAW', warehouse: 'LOAD_WH' })
   * // → { statementHandle: '01b…', columns: ['N'], rows: [{ N: '42' }] }
   */
  async execute(statement: string, options: ExecuteOptions = {}): Promise<StatementResult> {
    const deadline = this.#now() + (options.deadlineMs ?? this.#deadlineMs);
    const url = new URL(STATEMENTS_PATH, this.#base);
    url.searchParams.set('requestId', options.requestId ?? randomUUID());
    if (options.retry && options.requestId) url.searchParams.set('retry', 'true');
    const body: SubmitStatementRequest = { statement };
    for (const key of ['database', 'schema', 'warehouse', 'role', 'bindings', 'timeout'] as const) {
      if (options[key] !== undefined) Object.assign(body, { [key]: options[key] });
    }
    if (options.multiStatementCount !== undefined || options.queryTag !== undefined) {
      body.parameters = {
        ...(options.multiStatementCount !== undefined ? { MULTI_STATEMENT_COUNT: String(options.multiStatementCount) } : {}),
        ...(options.queryTag !== undefined ? { query_tag: options.queryTag } : {}),
      };
    }
    const first = await this.#settle(await this.#send('POST', url, body, deadline), deadline);
    const result = await this.#read(first, deadline);
    if (!first.statementHandles) return result;
    // A multi-statement request answers with the handles; each statement's result is read by its own GET.
    const statements: StatementResult[] = [];
    for (const handle of first.statementHandles) {
      const settled = await this.#settle(
        await this.#send('GET', this.#statusUrl({ statementHandle: handle }), undefined, deadline),
        deadline,
      );
      statements.push(await this.#read(settled, deadline));
    }
    return { ...result, statements };
  }

  /** Waits out 202s (code 333334) on the status URL; a 200 is the result, anything else an error. */
  async #settle(answer: Answer, deadline: number): Promise<ResultSet> {
    for (let polls = 0; ; polls++) {
      if (answer.status === 200) return asResultSet(answer.body);
      if (answer.status !== 202) throw failure(answer);
      const status = answer.body as QueryStatus;
      if (typeof status?.statementHandle !== 'string')
        throw new SnowflakeApiError('a 202 without a statementHandle to poll', { status: 202 });
      const wait = Math.min(this.#maxPollMs, this.#pollMs * 2 ** Math.min(polls, 20));
      if (this.#now() + wait > deadline) {
        await this.#cancel(status);
        throw new SnowflakeTimeoutError(`statement ${status.statementHandle} still running at the deadline; cancelled`, {
          status: 202,
          statementHandle: status.statementHandle,
        });
      }
      await this.#sleep(wait);
      answer = await this.#send('GET', this.#statusUrl(status), undefined, deadline);
    }
  }

  /** The rows of partition 0 and every further partition (`GET …?partition=N`), checked against `partitionInfo`. */
  async #read(result: ResultSet, deadline: number): Promise<StatementResult> {
    const columns = (result.resultSetMetaData?.rowType ?? []).map((column) => column.name);
    const partitions = result.resultSetMetaData?.partitionInfo ?? [];
    const data = [...(result.data ?? [])];
    for (let partition = 1; partition < partitions.length; partition++) {
      const url = this.#statusUrl(result);
      url.searchParams.set('partition', String(partition));
      const answer = await this.#send('GET', url, undefined, deadline);
      if (answer.status !== 200) throw failure(answer);
      const rows = (answer.body as ResultSet).data ?? [];
      if (rows.length !== partitions[partition]!.rowCount) {
        throw new SnowflakeApiError(
          `partition ${partition} of ${result.statementHandle}: ${rows.length} rows, partitionInfo says ${partitions[partition]!.rowCount}`,
        );
      }
      data.push(...rows);
    }
    const rows = data.map((values) => Object.fromEntries(columns.map((name, i) => [name, values[i] ?? null])));
    return { statementHandle: result.statementHandle, columns, rows, ...(result.stats ? { stats: result.stats } : {}) };
  }

  /**
   * One request, with the retry policy of retry.ts: 429/503/504 and network errors wait and resend
   * (a statement's resend with `retry=true`, same `requestId`), a 401 mints a new token once;
   * every other answer goes back to the caller.
   */
  async #send(method: 'GET' | 'POST', url: URL, body: SubmitStatementRequest | undefined, deadline: number): Promise<Answer> {
    const start = this.#now();
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      let answer: Answer | undefined;
      let cause: unknown;
      // Outside the try: a token that cannot be made is not a network failure to retry.
      const headers = this.#headers();
      try {
        const response = await this.#fetch(url, {
          method,
          headers,
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.#requestTimeoutMs),
        });
        const text = await response.text();
        answer = {
          status: response.status,
          body: parseJson(text),
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.#now()),
        };
      } catch (error) {
        cause = error;
      }
      const verdict = retryVerdict(answer?.status ?? 'network-error');
      if (answer && verdict.kind === 'fail') return answer;
      if (verdict.kind === 'reauthenticate' && !reauthenticated) {
        reauthenticated = true;
        this.#auth.invalidate();
      } else if (verdict.kind === 'reauthenticate') {
        throw failure(answer!, 'a new token was refused too: check the account, the user and its RSA_PUBLIC_KEY');
      } else {
        const delay = backoffMs(attempt, this.#backoff, answer?.retryAfterMs, this.#random);
        const waitEnds = this.#now() + delay;
        if (waitEnds - start > this.#backoff.budgetMs || waitEnds > deadline) {
          const what = answer ? `HTTP ${answer.status}` : `no answer (${String(cause)})`;
          throw new SnowflakeApiError(
            `${method} ${url.pathname}: ${what}; gave up after ${attempt} attempts within the retry budget`,
            {
              status: answer?.status,
            },
            { cause },
          );
        }
        await this.#sleep(delay);
      }
      // A resent statement says so: Snowflake then returns the first run's result instead of running it again.
      if (method === 'POST' && url.pathname === STATEMENTS_PATH) url.searchParams.set('retry', 'true');
    }
  }

  /** "Request headers for all operations" (https://docs.snowflake.com/en/developer-guide/sql-api/reference); the token type is optional there, sent anyway. */
  #headers(): Record<string, string> {
    return {
      Authorization: `Bearer ${this.#auth.token()}`,
      'X-Snowflake-Authorization-Token-Type': this.#auth.tokenType ?? 'KEYPAIR_JWT',
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': this.#userAgent,
    };
  }

  /** The status URL Snowflake gave, if it is on our host (the token goes nowhere else); else the documented path. */
  #statusUrl(status: Pick<QueryStatus, 'statementHandle' | 'statementStatusUrl'>): URL {
    const given = status.statementStatusUrl ? new URL(status.statementStatusUrl, this.#base) : undefined;
    if (given && given.origin === this.#base.origin) return given;
    return new URL(`${STATEMENTS_PATH}/${encodeURIComponent(status.statementHandle)}`, this.#base);
  }

  /** Best effort: one request, no retries; the deadline error is what the caller sees. */
  async #cancel(status: QueryStatus): Promise<void> {
    const url = new URL(`${STATEMENTS_PATH}/${encodeURIComponent(status.statementHandle)}/cancel`, this.#base);
    await this.#fetch(url, { method: 'POST', headers: this.#headers(), signal: AbortSignal.timeout(5_000) }).then(
      (response) => response.arrayBuffer(),
      () => undefined,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

function asResultSet(body: unknown): ResultSet {
  if (typeof body !== 'object' || body === null || typeof (body as ResultSet).statementHandle !== 'string') {
    throw new SnowflakeApiError('a 200 without a result set (no statementHandle)', { status: 200 });
  }
  return body as ResultSet;
}

/** The error for an answer that is not a result: 422 → SnowflakeSqlError, 408 → SnowflakeTimeoutError. */
function failure(answer: Answer, hint?: string): SnowflakeApiError {
  const body = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as Partial<QueryFailureStatus>;
  const details = { status: answer.status, code: body.code, sqlState: body.sqlState, statementHandle: body.statementHandle };
  const message = body.message ?? (typeof answer.body === 'string' ? answer.body.slice(0, 200) : '');
  if (answer.status === 422) return new SnowflakeSqlError(`${message} (code ${body.code}, SQL state ${body.sqlState})`, details);
  if (answer.status === 408) return new SnowflakeTimeoutError(`statement cancelled at its timeout: ${message}`, details);
  return new SnowflakeApiError(`HTTP ${answer.status}${message ? `: ${message}` : ''}${hint ? ` (${hint})` : ''}`, details);
}
