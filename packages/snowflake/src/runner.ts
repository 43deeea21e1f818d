import type { ExecuteOptions, Row, StatementResult } from '@snowgate/snowflake-api';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrationFiles, render, SNOWFLAKE_DIR, type Script, type SnowflakeVariables, splitStatements, stripComments } from './sql';

/**
 * The one migration runner: `pnpm snowflake:apply` and the deploy's custom resource both run
 * `snowflake/migrations` through it, over the SQL API (`@snowgate/snowflake-api`).
 *
 * Each versioned migration runs once per stage, recorded in a history table in the stage's
 * schema (as schemachange does); a repeatable one (`R__…`) runs again when its checksum changes.
 */

/** What the runner needs of `SqlApiClient`: one statement per request, context in the request. */
export interface SqlApi {
  execute(statement: string, options?: ExecuteOptions): Promise<StatementResult>;
}

/** The history table, in the stage's schema: dropped with it by teardown.sql. */
export const HISTORY_TABLE = 'MIGRATION_HISTORY';

/** A migration as it runs: its statements rendered, and the checksums that decide whether it runs. */
export interface Migration extends Script {
  /** `1.2.0` for `V1.2.0__x.sql`; undefined for a repeatable `R__x.sql`. */
  version: string | undefined;
  /** SHA-256 of the file as written (the template): what the code says. */
  checksum: string;
  /** SHA-256 of the rendered text: what the code says for this stage's variables. */
  renderedChecksum: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every migration of `dir`, in schemachange's order, rendered for `variables`, with its checksums. */
export function loadMigrations(variables: SnowflakeVariables, dir = join(SNOWFLAKE_DIR, 'migrations')): Migration[] {
  return migrationFiles(dir).map((file) => {
    const template = readFileSync(join(dir, file), 'utf8');
    const rendered = render(template, variables, file);
    return {
      file,
      version: /^V(\d+(?:\.\d+)*)__/.exec(file)?.[1],
      checksum: sha256(template),
      renderedChecksum: sha256(rendered),
      statements: splitStatements(rendered),
    };
  });
}

/**
 * The migrations' files and template checksums (no variables needed): what the custom resource
 * takes as a property, so that a new or changed migration is an update of the resource.
 */
export function migrationChecksums(dir = join(SNOWFLAKE_DIR, 'migrations')): { file: string; checksum: string }[] {
  return migrationFiles(dir).map((file) => ({ file, checksum: sha256(readFileSync(join(dir, file), 'utf8')) }));
}

/**
 * A request ID derived from what the statement is (a name-based UUID, version 5 layout over SHA-256):
 * the same prefix, file, checksum and index give the same ID, so a resend of a statement whose
 * answer was lost, even from another process, is answered by Snowflake instead of run again.
 */
export function statementRequestId(prefix: string, ...parts: (string | number)[]): string {
  const hex = createHash('sha256')
    .update([prefix, ...parts].join('\u0000'))
    .digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A session's state as a run of statements builds it, sent with each request. */
export interface SessionContext {
  role?: string;
  database?: string;
  schema?: string;
  warehouse?: string;
  /** `USE SECONDARY ROLES NONE` holds until the next `USE ROLE`. */
  secondaryRolesNone?: boolean;
}

const NAME = '[A-Za-z_][A-Za-z0-9_$]*';

/**
 * The context after a `USE` statement, or undefined when `statement` is not one. The SQL API takes
 * `USE` only inside a multi-statement request: its effect goes in the next requests' fields instead.
 */
export function applyUse(statement: string, context: SessionContext): SessionContext | undefined {
  const text = stripComments(statement).replace(/\s+/g, ' ').trim();
  if (!/^USE\b/i.test(text)) return undefined;
  for (const [pattern, change] of USES) {
    const m = pattern.exec(text);
    if (m) return { ...context, ...change(m) };
  }
  throw new Error(`cannot send "${text}" through the SQL API (only USE ROLE, SCHEMA, DATABASE, WAREHOUSE and SECONDARY ROLES NONE|ALL)`);
}

/** Each USE the migrations may say, and what it sets. */
const USES: [RegExp, (m: RegExpExecArray) => Partial<SessionContext>][] = [
  [new RegExp(`^USE ROLE (${NAME})$`, 'i'), (m) => ({ role: m[1]!, secondaryRolesNone: false })],
  [new RegExp(`^USE SCHEMA (${NAME})\\.(${NAME})$`, 'i'), (m) => ({ database: m[1]!, schema: m[2]! })],
  [new RegExp(`^USE SCHEMA (${NAME})$`, 'i'), (m) => ({ schema: m[1]! })],
  [new RegExp(`^USE WAREHOUSE (${NAME})$`, 'i'), (m) => ({ warehouse: m[1]! })],
  [/^USE SECONDARY ROLES (NONE|ALL)$/i, (m) => ({ secondaryRolesNone: m[1]!.toUpperCase() === 'NONE' })],
  [
    new RegExp(`^USE (?:DATABASE )?(?!(?:ROLE|SCHEMA|WAREHOUSE|SECONDARY)\\b)(${NAME})$`, 'i'),
    (m) => ({ database: m[1]!, schema: undefined }),
  ],
];

/**
 * Runs one (non-USE) statement in `context`. Secondary roles have no request field: a statement
 * under `USE SECONDARY ROLES NONE` goes as a two-statement request, which the API allows USE in.
 */
export async function executeIn(sql: SqlApi, statement: string, context: SessionContext, extra: ExecuteOptions = {}): Promise<Row[]> {
  const options: ExecuteOptions = { ...extra };
  for (const key of ['role', 'database', 'schema', 'warehouse'] as const) if (context[key] !== undefined) options[key] = context[key];
  const text = stripComments(statement);
  if (!context.secondaryRolesNone) return (await sql.execute(text, options)).rows;
  const result = await sql.execute(`USE SECONDARY ROLES NONE;\n${text}`, { ...options, multiStatementCount: 2 });
  return result.statements?.[1]?.rows ?? [];
}

/**
 * A session over the SQL API for code written as a run of statements (the backfill):
 * `USE …` changes the context of the statements after it.
 */
export function apiSession(sql: SqlApi, context: SessionContext = {}) {
  let current = { ...context };
  return {
    async execute(statement: string): Promise<Record<string, unknown>[]> {
      const used = applyUse(statement, current);
      if (used) {
        current = used;
        return [];
      }
      return executeIn(sql, statement, current);
    },
    close: async () => undefined,
  };
}

const normalize = (sql: string) => stripComments(sql).replace(/\s+/g, ' ').replace(/;$/, '').trim();

/**
 * The COPY of each pipe the migrations create, normalized, in order: `CREATE [OR REPLACE] PIPE` statements,
 * and those inside a Snowflake Scripting block (`EXECUTE IMMEDIATE $$ … $$`); only `pipe`'s (fully qualified) when named.
 */
export function pipeCopies(scripts: Script[], pipe?: string): string[] {
  const statements = scripts.flatMap((s) => s.statements).flatMap((st) => [st, ...blockStatements(st)]);
  const creates = pipe
    ? new RegExp(`^CREATE (OR REPLACE )?PIPE (IF NOT EXISTS )?${pipe.replace(/[.$]/g, '\\$&')}\\s`, 'i')
    : /^CREATE (OR REPLACE )?PIPE\b/i;
  return statements
    .map(stripComments)
    .filter((st) => creates.test(st))
    .map((st) => normalize(st.slice(st.search(/\bAS\s+COPY\b/i) + 2)));
}

/** The statements of a Snowflake Scripting block's body, or none for another statement. */
function blockStatements(statement: string): string[] {
  const body = /^EXECUTE IMMEDIATE \$\$([\s\S]*)\$\$$/i.exec(stripComments(statement))?.[1];
  return body === undefined ? [] : splitStatements(body);
}

/**
 * A stage's URL and a pipe's COPY cannot be changed in place: Snowflake wants both recreated,
 * and recreating a pipe drops its load history. The migrations say IF NOT EXISTS, so a changed
 * prefix or COPY would be silently ignored (and the integration, altered to the new prefix,
 * would stop the old stage from loading). Before anything runs, compare what exists with
 * what would be created, and stop on a difference.
 */
export async function refuseDrift(sql: SqlApi, v: SnowflakeVariables, scripts: Script[]): Promise<void> {
  const context = { role: v.admin_role };
  const existing = async (statement: string) => {
    try {
      return await executeIn(sql, statement, context);
    } catch {
      return []; // the database or schema does not exist yet: a first apply
    }
  };
  const column = (row: Record<string, unknown> | undefined, name: string) => (row ? (row[name] ?? row[name.toUpperCase()]) : undefined);
  const stage = column((await existing(`SHOW STAGES LIKE '${v.stage}' IN SCHEMA ${v.database}.${v.schema}`))[0], 'url');
  const problems: string[] = [];
  if (typeof stage === 'string' && stage !== v.stage_url)
    problems.push(`stage ${v.stage} reads ${stage}, the stack's landing prefix is now ${v.stage_url}`);
  const pipe = column((await existing(`SHOW PIPES LIKE '${v.pipe}' IN SCHEMA ${v.database}.${v.schema}`))[0], 'definition');
  // Every COPY a migration gives the pipe: an earlier one is what a later migration recreates it from.
  const copies = pipeCopies(scripts);
  if (typeof pipe === 'string' && copies.length > 0 && !copies.includes(normalize(pipe)))
    problems.push(`pipe ${v.pipe} runs a COPY that no migration in snowflake/migrations gives it`);
  if (problems.length) {
    throw new Error(
      `${problems.join('; ')}. Neither can change in place: recreate them as snowflake/README.md ("Changing the prefix or the COPY") describes, then apply again. Nothing was run.`,
    );
  }
}

export interface RunnerOptions {
  /** Seeds the statements' request IDs: a new one per run (a CLI run, a CloudFormation request). */
  requestIdPrefix: string;
  /** The migrations to run (default: `snowflake/migrations` rendered for the variables). */
  migrations?: Migration[];
  /** For the history table's statements, and every statement when set (config `snowflake.account.warehouse`). */
  warehouse?: string;
  print?: (text: string) => void;
}

export interface AppliedMigrations {
  /** Files run this time, in order. */
  applied: string[];
  /** Files already applied as they are now. */
  skipped: string[];
}

interface HistoryRow {
  script: string;
  checksum: string;
  renderedChecksum: string;
}

const isMissing = (error: unknown) => (error as { code?: string }).code === '002003';

/**
 * What the history says ran, latest per script; none when the table (or the schema) does not exist:
 * a first apply, or a stage applied before the history existed (every migration is idempotent, so
 * such a stage gets each one run once more, and recorded).
 */
async function readHistory(sql: SqlApi, v: SnowflakeVariables, context: SessionContext): Promise<Map<string, HistoryRow>> {
  let rows: Row[];
  try {
    rows = await executeIn(
      sql,
      `SELECT SCRIPT, CHECKSUM, RENDERED_CHECKSUM FROM ${v.database}.${v.schema}.${HISTORY_TABLE} ORDER BY INSTALLED_ON, SCRIPT`,
      context,
    );
  } catch (error) {
    if (isMissing(error)) return new Map();
    throw new Error(`could not read ${v.database}.${v.schema}.${HISTORY_TABLE}: ${(error as Error).message}`, { cause: error });
  }
  const history = new Map<string, HistoryRow>();
  for (const row of rows) {
    const script = row.SCRIPT ?? row.script;
    if (script)
      history.set(script, {
        script,
        checksum: String(row.CHECKSUM ?? row.checksum),
        renderedChecksum: String(row.RENDERED_CHECKSUM ?? row.rendered_checksum),
      });
  }
  return history;
}

/** The statement's first line, for an error that names it. */
const firstLine = (statement: string) => stripComments(statement).split('\n')[0];

/**
 * Runs a script's statements in order, `USE` translated into the requests' context, each statement
 * with its own deterministic request ID; the first failure stops it, naming file and statement.
 */
async function runScript(sql: SqlApi, script: Script, start: SessionContext, ids: { prefix: string; checksum: string }): Promise<void> {
  let context = { ...start };
  for (const [i, statement] of script.statements.entries()) {
    try {
      const used = applyUse(statement, context);
      if (used) {
        context = used;
        continue;
      }
      await executeIn(sql, statement, context, { requestId: statementRequestId(ids.prefix, script.file, ids.checksum, i), retry: true });
    } catch (error) {
      throw new ScriptError(`${script.file}, statement ${i + 1} (${firstLine(statement)}…) failed: ${(error as Error).message}`, {
        cause: error,
        notRun: script.statements
          .slice(i)
          .map(stripComments)
          .filter((st) => !/^USE\b/i.test(st)),
      });
    }
  }
}

/** A script stopped at a statement: Snowflake's error is the cause; `notRun` is that statement and the ones after it. */
export class ScriptError extends Error {
  override name = 'ScriptError';
  readonly notRun: string[];
  constructor(message: string, options: { cause: unknown; notRun: string[] }) {
    super(message, { cause: options.cause });
    this.notRun = options.notRun;
  }
}

/**
 * Runs the migrations a stage has not run yet, each recorded once it ran:
 * - a versioned file absent from the history runs; one recorded with another checksum of its text is
 *   an error naming it (an applied migration is never edited: add a new one), before anything runs;
 *   one recorded with the same text but other variables (a changed setting) runs again;
 * - a repeatable file runs when its rendered checksum differs from the last recorded.
 * When anything is to run, `refuseDrift` checks first that the stage and the pipe can stay as they are.
 * Every file starts as the admin role with the user's default secondary roles; its `USE`s change that.
 */
export async function applyMigrations(sql: SqlApi, v: SnowflakeVariables, options: RunnerOptions): Promise<AppliedMigrations> {
  const print = options.print ?? (() => undefined);
  const migrations = options.migrations ?? loadMigrations(v);
  const start: SessionContext = { role: v.admin_role, ...(options.warehouse ? { warehouse: options.warehouse } : {}) };
  const historyContext: SessionContext = { ...start, warehouse: options.warehouse ?? v.warehouse };
  const history = await readHistory(sql, v, historyContext);
  const edited = migrations.filter((m) => m.version !== undefined && history.has(m.file) && history.get(m.file)!.checksum !== m.checksum);
  if (edited.length) {
    throw new Error(
      `${edited.map((m) => m.file).join(', ')} changed after it was applied (checksum ${edited.map((m) => `${history.get(m.file)!.checksum.slice(0, 12)}… now ${m.checksum.slice(0, 12)}…`).join(', ')}): an applied migration is never edited; undo the edit and put the change in a new V<version>__<name>.sql. Nothing was run.`,
    );
  }
  // Something will run: first make sure it can do what it says (a changed prefix or COPY cannot).
  if (migrations.some((m) => history.get(m.file)?.renderedChecksum !== m.renderedChecksum)) await refuseDrift(sql, v, migrations);
  const result: AppliedMigrations = { applied: [], skipped: [] };
  let historyExists = history.size > 0;
  for (const migration of migrations) {
    if (history.get(migration.file)?.renderedChecksum === migration.renderedChecksum) {
      result.skipped.push(migration.file);
      continue;
    }
    print(`${migration.file}: ${migration.statements.length} statements`);
    const started = Date.now();
    await runScript(sql, migration, start, { prefix: options.requestIdPrefix, checksum: migration.renderedChecksum });
    const record = (statement: string, i: number, extra: ExecuteOptions = {}) =>
      executeIn(sql, statement, historyContext, {
        requestId: statementRequestId(options.requestIdPrefix, migration.file, migration.renderedChecksum, 'history', i),
        retry: true,
        ...extra,
      });
    try {
      // Created once the schema exists (the first migration makes it).
      if (!historyExists) {
        await record(
          `CREATE TABLE IF NOT EXISTS ${v.database}.${v.schema}.${HISTORY_TABLE} (VERSION VARCHAR, SCRIPT VARCHAR NOT NULL, SCRIPT_TYPE VARCHAR NOT NULL, CHECKSUM VARCHAR NOT NULL, RENDERED_CHECKSUM VARCHAR NOT NULL, EXECUTION_TIME NUMBER NOT NULL, INSTALLED_BY VARCHAR DEFAULT CURRENT_USER(), INSTALLED_ON TIMESTAMP_LTZ DEFAULT CURRENT_TIMESTAMP()) COMMENT = 'Snowgate: the migrations applied to this schema (snowflake/README.md)'`,
          0,
        );
        historyExists = true;
      }
      const text = (value: string | undefined) => ({ type: 'TEXT', value: value ?? null });
      await record(
        `INSERT INTO ${v.database}.${v.schema}.${HISTORY_TABLE} (VERSION, SCRIPT, SCRIPT_TYPE, CHECKSUM, RENDERED_CHECKSUM, EXECUTION_TIME) VALUES (?, ?, ?, ?, ?, ?)`,
        1,
        {
          bindings: {
            '1': text(migration.version),
            '2': text(migration.file),
            '3': text(migration.version === undefined ? 'R' : 'V'),
            '4': text(migration.checksum),
            '5': text(migration.renderedChecksum),
            '6': { type: 'FIXED', value: String(Date.now() - started) },
          },
        },
      );
    } catch (error) {
      throw new Error(`${migration.file} ran but could not be recorded in ${HISTORY_TABLE}: ${(error as Error).message}`, { cause: error });
    }
    result.applied.push(migration.file);
  }
  return result;
}

/**
 * Runs a teardown script (see `teardownFor`) over the SQL API, as the runner runs a migration.
 * Stopped part way, it throws a `ScriptError` whose `notRun` is what is left (`leftToDrop`).
 */
export async function runTeardownScript(
  sql: SqlApi,
  v: SnowflakeVariables,
  script: Script,
  options: Pick<RunnerOptions, 'requestIdPrefix' | 'warehouse' | 'print'>,
): Promise<void> {
  options.print?.(`${script.file}: ${script.statements.length} statements`);
  const start: SessionContext = { role: v.admin_role, ...(options.warehouse ? { warehouse: options.warehouse } : {}) };
  await runScript(sql, script, start, { prefix: options.requestIdPrefix, checksum: sha256(script.statements.join(';\n')) });
}

/**
 * What a teardown stopped part way leaves, in order, as `KIND NAME`.
 *
 * @example
 * leftToDrop(['DROP PIPE IF EXISTS A.B.P']) // → ['PIPE A.B.P']
 */
export function leftToDrop(notRun: string[]): string[] {
  return notRun.map((st) => {
    const drop = /^DROP (.+?) IF EXISTS (\S+)$/i.exec(st.replace(/\s+/g, ' ').trim());
    return drop ? `${drop[1]} ${drop[2]}` : st;
  });
}

/** A fresh request ID prefix, for a run that has no stable identity of its own (a CLI run). */
export const newRunPrefix = () => randomUUID();
