import { Dialect, parse } from '@polyglot-sql/sdk';
import {
  migrationFiles,
  render,
  renderMigrations,
  renderTeardown,
  snowflakeVariablesSchema,
  splitStatements,
  stripComments,
  SNOWFLAKE_DIR,
  type SnowflakeVariables,
} from '@snowgate/snowflake';
import { openWarehouse, query } from '@snowgate/twin';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_VARIABLES } from '../support/snowflake-variables';

// There is no Snowflake here: every rendered statement goes through polyglot's Snowflake
// dialect. polyglot 0.12.1 parses tables, views, grants, USE, DROP SCHEMA/VIEW and COPY
// into structure, but passes Snowflake's object DDL (warehouse, role, integration, file
// format, stage, pipe) through as an opaque node, and would pass `CREATE TABEL` too. So
// those statements are also checked against the option names Snowflake documents for
// them, and the pipe's COPY is parsed on its own.

const variables: SnowflakeVariables = {
  ...DEV_VARIABLES,
  admin_role: 'SNOWGATE_ADMIN',
  alert_role_arn: 'arn:aws:iam::123456789012:role/dev-snowgate-Alarms-SnowflakeAlertRole1',
  aws_role_arn: 'arn:aws:iam::123456789012:role/dev-snowgate-Snowflake-SnowflakeRole1A2B3C',
  stage_url: 's3://dev-snowgate-storage-landing-1a2b3c/events/',
};

// A polyglot AST node is an object keyed by its kind (`{ create_table: { columns: [...] } }`);
// the tests walk it by path, and what they find is checked by their expectations.
const kindOf = (node: unknown) => Object.keys(node as object)[0]!;
/** The value at `path` in a node, or undefined when the path is not there. */
const at = (node: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (value, key) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
    node,
  );
/** The list at `path` in a node (fails the test when there is none). */
const listAt = (node: unknown, ...path: string[]): unknown[] => {
  const value = at(node, ...path);
  expect(Array.isArray(value), `a list at ${path.join('.')}`).toBe(true);
  return value as unknown[];
};
const parseOne = (sql: string): unknown => {
  const result = parse(sql, Dialect.Snowflake) as { success: boolean; ast?: unknown[]; error?: string };
  if (!result.success) throw new Error(`polyglot cannot parse: ${result.error}\n${sql}`);
  expect(result.ast).toHaveLength(1);
  return result.ast![0]!;
};

/**
 * Snowflake's documented parameters for the statements polyglot passes through
 * (https://docs.snowflake.com/en/sql-reference/sql/create-warehouse, create-role,
 * create-storage-integration, alter-storage-integration, create-file-format (JSON),
 * create-stage (external), create-pipe, create-notification-integration-queue-outbound-aws,
 * alter-notification-integration-queue-outbound-aws, create-alert, alter-alert, alter-pipe).
 */
const OPAQUE_STATEMENTS: { pattern: RegExp; options: string[] }[] = [
  {
    pattern: /^CREATE WAREHOUSE IF NOT EXISTS \w+\s/,
    options: [
      'WAREHOUSE_SIZE',
      'WAREHOUSE_TYPE',
      'MAX_CLUSTER_COUNT',
      'MIN_CLUSTER_COUNT',
      'SCALING_POLICY',
      'AUTO_SUSPEND',
      'AUTO_RESUME',
      'INITIALLY_SUSPENDED',
      'RESOURCE_MONITOR',
      'COMMENT',
      'ENABLE_QUERY_ACCELERATION',
      'STATEMENT_TIMEOUT_IN_SECONDS',
    ],
  },
  { pattern: /^CREATE ROLE IF NOT EXISTS \w+\s/, options: ['COMMENT'] },
  {
    pattern: /^(CREATE STORAGE INTEGRATION IF NOT EXISTS \w+\s|ALTER STORAGE INTEGRATION \w+ SET\s)/,
    options: [
      'TYPE',
      'STORAGE_PROVIDER',
      'ENABLED',
      'STORAGE_AWS_ROLE_ARN',
      'STORAGE_AWS_EXTERNAL_ID',
      'STORAGE_ALLOWED_LOCATIONS',
      'STORAGE_BLOCKED_LOCATIONS',
      'STORAGE_AWS_OBJECT_ACL',
      'USE_PRIVATELINK_ENDPOINT',
      'COMMENT',
    ],
  },
  {
    pattern: /^CREATE FILE FORMAT IF NOT EXISTS [\w.]+\s/,
    options: [
      'TYPE',
      'COMPRESSION',
      'DATE_FORMAT',
      'TIME_FORMAT',
      'TIMESTAMP_FORMAT',
      'BINARY_FORMAT',
      'TRIM_SPACE',
      'MULTI_LINE',
      'NULL_IF',
      'FILE_EXTENSION',
      'ENABLE_OCTAL',
      'ALLOW_DUPLICATE',
      'STRIP_OUTER_ARRAY',
      'STRIP_NULL_VALUES',
      'REPLACE_INVALID_CHARACTERS',
      'IGNORE_UTF8_ERRORS',
      'SKIP_BYTE_ORDER_MARK',
      'COMMENT',
    ],
  },
  {
    pattern: /^CREATE STAGE IF NOT EXISTS [\w.]+\s/,
    options: ['URL', 'STORAGE_INTEGRATION', 'ENCRYPTION', 'FILE_FORMAT', 'COPY_OPTIONS', 'DIRECTORY', 'COMMENT'],
  },
  {
    pattern: /^CREATE PIPE IF NOT EXISTS [\w.]+\s/,
    options: ['AUTO_INGEST', 'ERROR_INTEGRATION', 'AWS_SNS_TOPIC', 'INTEGRATION', 'COMMENT'],
  },
  {
    pattern: /^(CREATE NOTIFICATION INTEGRATION IF NOT EXISTS \w+\s|ALTER NOTIFICATION INTEGRATION \w+ SET\s)/,
    options: ['ENABLED', 'TYPE', 'DIRECTION', 'NOTIFICATION_PROVIDER', 'AWS_SNS_TOPIC_ARN', 'AWS_SNS_ROLE_ARN', 'COMMENT'],
  },
  {
    pattern: /^CREATE OR REPLACE ALERT [\w.]+\s[\s\S]*\sIF \(EXISTS \([\s\S]+\)\)\s+THEN\s/,
    options: ['SCHEDULE', 'WAREHOUSE', 'COMMENT', 'SUSPEND_ALERT_AFTER_NUM_FAILURES'],
  },
  { pattern: /^ALTER ALERT [\w.]+ RESUME$/, options: [] },
  { pattern: /^ALTER PIPE [\w.]+ SET\s/, options: ['ERROR_INTEGRATION', 'PIPE_EXECUTION_PAUSED', 'COMMENT'] },
  { pattern: /^GRANT ROLE \w+ TO ROLE \w+$/, options: [] },
  { pattern: /^DROP (PIPE|STAGE|FILE FORMAT) IF EXISTS [\w.]+$/, options: [] },
  { pattern: /^DROP INTEGRATION IF EXISTS \w+$/, options: [] },
];
/** polyglot 0.12.1 does not parse DROP ROLE, DROP ALERT or DROP DYNAMIC TABLE at all ("Expected TABLE, VIEW, … after DROP"). */
const UNPARSED = /^DROP (ROLE IF EXISTS \w+|ALERT IF EXISTS [\w.]+|DYNAMIC TABLE IF EXISTS [\w.]+)$/;
/**
 * A Snowflake Scripting block, which polyglot passes through whole: its SQL statements are checked
 * one by one ('a Snowflake Scripting block recreates the pipe…' below).
 */
const BLOCK = /^EXECUTE IMMEDIATE \$\$([\s\S]*)\$\$$/;
/** Snowflake Scripting's own statements in a block (https://docs.snowflake.com/en/developer-guide/snowflake-scripting). */
const SCRIPTING = /^(DECLARE\b|BEGIN\b|END\b|IF \(|LOOP\b|BREAK\b|RAISE \w+$|RETURN\b|EXECUTE IMMEDIATE '|\w+ := )/;

/** The `NAME =` options at the statement's top level (outside parentheses and strings), before any `AS`. */
function topLevelOptions(statement: string): string[] {
  const head = statement.split(/\sAS\s/)[0]!.replace(/'(?:[^']|'')*'/g, "''");
  let depth = 0;
  let flat = '';
  for (const c of head) {
    if (c === '(') depth++;
    if (depth === 0) flat += c;
    if (c === ')') depth--;
  }
  return [...flat.matchAll(/\b([A-Z_]+)\s*=/g)].map((m) => m[1]!);
}

const allScripts = () => [...renderMigrations(variables), renderTeardown(variables)];
const statementsOf = (file: string) =>
  allScripts()
    .find((s) => s.file === file)!
    .statements.map(stripComments);
const find = (file: string, start: string) => statementsOf(file).find((s) => s.startsWith(start))!;

describe('snowflake/ SQL', () => {
  it('runs in schemachange order: versioned files by version, then repeatable ones', () => {
    expect(migrationFiles(join(SNOWFLAKE_DIR, 'migrations'))).toEqual([
      'V1.0.0__context.sql',
      'V1.1.0__roles.sql',
      'V1.2.0__storage_integration.sql',
      'V1.3.0__raw_events.sql',
      'V1.4.0__pipe.sql',
      'V1.5.0__callers_and_unique_events.sql',
      'V1.6.0__freshness_alert.sql',
      'V1.7.0__load_error_notifications.sql',
      'V1.8.0__streaming_pipe.sql',
      'R__views.sql',
    ]);
  });

  it('parses, every rendered statement, with the Snowflake dialect; opaque ones use only documented options', () => {
    let structured = 0;
    for (const script of allScripts()) {
      for (const raw of script.statements) {
        const sql = stripComments(raw);
        if (UNPARSED.test(sql) || BLOCK.test(sql)) continue;
        const node = parseOne(sql);
        const kind = kindOf(node);
        if (kind !== 'raw' && kind !== 'command') {
          structured++;
          continue;
        }
        const known = OPAQUE_STATEMENTS.find((s) => s.pattern.test(sql));
        expect(known, `${script.file}: a statement polyglot does not parse into structure, and not one we know:\n${sql}`).toBeDefined();
        for (const option of topLevelOptions(sql)) expect(known!.options, `${script.file}: ${option} in\n${sql}`).toContain(option);
      }
    }
    expect(structured).toBeGreaterThan(30);
  });

  it('catches what a lenient parser lets through: a misspelled statement or option fails', () => {
    const check = (sql: string) => {
      const node = parseOne(sql);
      if (kindOf(node) !== 'raw' && kindOf(node) !== 'command') return true;
      const known = OPAQUE_STATEMENTS.find((s) => s.pattern.test(sql));
      return !!known && topLevelOptions(sql).every((o) => known.options.includes(o));
    };
    expect(check('CREATE FILE FORMAT IF NOT EXISTS A.B.F TYPE = JSON ALLOW_DUPLICATE = TRUE')).toBe(true);
    expect(check('CREATE FILE FORMAT IF NOT EXISTS A.B.F TYPE = JSON ALLOW_DUPLICATES = TRUE')).toBe(false);
    expect(check('CREATE TABEL A.B.T (record VARIANT)')).toBe(false);
    expect(check('CREATE PIPE IF NOT EXISTS A.B.P AUTO_INJEST = TRUE AS COPY INTO A.B.T FROM @A.B.S')).toBe(false);
  });

  it("creates RAW_EVENTS with the columns of DESIGN.md, the same as the twin's raw_events", async () => {
    const created = listAt(parseOne(find('V1.3.0__raw_events.sql', 'CREATE TABLE')), 'create_table', 'columns');
    expect(created.map((c) => [at(c, 'name', 'name'), at(c, 'nullable')])).toEqual(
      ['record', 'received_at', 'request_id', 'source_file', 'file_row_number', 'loaded_at'].map((name) => [name, false]),
    );
    // V1.5.0 adds who sent it, after the others (ALTER TABLE … ADD COLUMN appends).
    const added = statementsOf('V1.5.0__callers_and_unique_events.sql')
      .filter((s) => s.startsWith('ALTER TABLE'))
      .map((s) => /^ALTER TABLE SNOWGATE\.DEV\.RAW_EVENTS ADD COLUMN IF NOT EXISTS (\w+) VARCHAR\s+COMMENT '/.exec(s)?.[1]);
    expect(added).toEqual(['auth', 'producer']);
    const columns = [...created.map((c) => at(c, 'name', 'name')), ...added];
    // polyglot names types its own way (var_char, TIMESTAMPLTZ): check them in the text.
    const ddl = find('V1.3.0__raw_events.sql', 'CREATE TABLE');
    for (const column of [
      'record VARIANT',
      'received_at TIMESTAMP_TZ',
      'request_id VARCHAR',
      'source_file VARCHAR',
      'file_row_number NUMBER(38, 0)',
      'loaded_at TIMESTAMP_LTZ',
    ]) {
      expect(ddl).toContain(`${column} NOT NULL`);
    }

    const dir = mkdtempSync(join(tmpdir(), 'snowgate-wh-'));
    const { instance, connection } = await openWarehouse(join(dir, 'w.duckdb'));
    try {
      const local = (
        await query(
          connection,
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'raw_events' ORDER BY ordinal_position`,
        )
      ).rows.map((r) => r.column_name);
      expect(local).toEqual(columns);
      // The views that make sense locally exist there too, with the same columns.
      for (const view of ['RAW_EVENTS_LATEST', 'INGEST_LATENCY', 'COPY_HISTORY_RECENT', 'LOAD_FAILURES', 'LOAD_FRESHNESS']) {
        const snowflake = listAt(
          parseOne(find('R__views.sql', `CREATE OR REPLACE VIEW SNOWGATE.DEV.${view}`)),
          'create_view',
          'query',
          'select',
          'expressions',
        ).map((e) => (at(e, 'alias') ? at(e, 'alias', 'alias', 'name') : at(e, 'column') ? at(e, 'column', 'name', 'name') : '*'));
        const duck = (
          await query(
            connection,
            `SELECT column_name FROM information_schema.columns WHERE table_name = '${view.toLowerCase()}' ORDER BY ordinal_position`,
          )
        ).rows.map((r) => r.column_name);
        expect(duck, view).toEqual(snowflake[0] === '*' ? local : snowflake);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads NDJSON envelopes with ALLOW_DUPLICATE, from the landing prefix only, through the stack's role", () => {
    const format = find('V1.3.0__raw_events.sql', 'CREATE FILE FORMAT');
    expect(format).toMatch(/\bTYPE = JSON\b/);
    expect(format).toMatch(/\bALLOW_DUPLICATE = TRUE\b/);
    expect(format).toMatch(/\bSTRIP_OUTER_ARRAY = FALSE\b/);
    const stage = find('V1.3.0__raw_events.sql', 'CREATE STAGE');
    expect(stage).toContain(`URL = '${variables.stage_url}'`);
    expect(stage).toMatch(/URL = 's3:\/\/[^']+\/'/); // the trailing slash
    expect(stage).toContain(`STORAGE_INTEGRATION = ${variables.integration}`);
    expect(stage).toContain(`FILE_FORMAT = (FORMAT_NAME = 'SNOWGATE.DEV.NDJSON_ENVELOPE')`);
    for (const statement of [
      find('V1.2.0__storage_integration.sql', 'CREATE STORAGE INTEGRATION'),
      find('V1.2.0__storage_integration.sql', 'ALTER STORAGE INTEGRATION'),
    ]) {
      expect(statement).toContain(`STORAGE_AWS_ROLE_ARN = '${variables.aws_role_arn}'`);
      expect(statement).toContain(`STORAGE_AWS_EXTERNAL_ID = '${variables.external_id}'`);
      expect(statement).toContain(`STORAGE_ALLOWED_LOCATIONS = ('${variables.stage_url}')`);
    }
    // Never CREATE OR REPLACE an integration: it would get a new IAM user, and the trust policy would break.
    expect(
      allScripts()
        .flatMap((s) => s.statements)
        .some((s) => /CREATE OR REPLACE (STORAGE )?INTEGRATION/i.test(s)),
    ).toBe(false);
  });

  it('has an auto-ingest pipe, owned by the loader role, whose COPY fills every column from the envelope and the file metadata', () => {
    const statements = statementsOf('V1.4.0__pipe.sql');
    expect(statements.slice(0, 2)).toEqual([`USE ROLE ${variables.loader_role}`, 'USE SECONDARY ROLES NONE']);
    const pipe = statements.find((s) => s.startsWith('CREATE PIPE'))!;
    expect(topLevelOptions(pipe)).toEqual(['AUTO_INGEST', 'COMMENT']);
    expect(pipe).toMatch(/AUTO_INGEST = TRUE/);
    const copySql = pipe.slice(pipe.search(/\bAS\s+COPY INTO\b/) + 2).trim();
    const copy = at(parseOne(copySql), 'copy');
    expect(at(copy, 'this', 'schema', 'this', 'table', 'name', 'name')).toBe('RAW_EVENTS');
    expect(listAt(copy, 'this', 'schema', 'expressions').map((c) => at(c, 'column', 'name', 'name'))).toEqual([
      'record',
      'received_at',
      'request_id',
      'source_file',
      'file_row_number',
      'loaded_at',
    ]);
    const select = JSON.stringify(copy);
    for (const column of ['METADATA$FILENAME', 'METADATA$FILE_ROW_NUMBER', 'METADATA$START_SCAN_TIME']) expect(select).toContain(column);
    expect(copySql).toMatch(/SELECT\s+\$1:record,\s+\$1:received_at::TIMESTAMP_TZ,\s+\$1:request_id::VARCHAR,/);
    expect(copySql).toContain(`FROM @${variables.database}.${variables.schema}.${variables.stage}`);
    expect(copySql).toMatch(/ON_ERROR = SKIP_FILE$/);
    expect(copySql).not.toMatch(/CURRENT_TIMESTAMP/); // Snowflake: can be hours early in a pipe
  });

  it('adds who sent it, and recreates the pipe in a Snowflake Scripting block that loads no file twice and runs once', () => {
    const statements = statementsOf('V1.5.0__callers_and_unique_events.sql');
    const block = statements.find((st) => BLOCK.test(st))!;
    // The pipe stays the loader's: the block runs under its role alone, and the reader's grant comes back.
    expect(statements.slice(statements.indexOf(block) - 2, statements.indexOf(block) + 3)).toEqual([
      `USE ROLE ${variables.loader_role}`,
      'USE SECONDARY ROLES NONE',
      block,
      `USE ROLE ${variables.admin_role}`,
      `GRANT MONITOR ON PIPE SNOWGATE.DEV.RAW_EVENTS_PIPE TO ROLE ${variables.reader_role}`,
    ]);
    // Each piece without the keyword that opens its section (DECLARE, BEGIN, LOOP), which splitting leaves in front.
    const inner = splitStatements(BLOCK.exec(block)![1]!).map((st) => stripComments(st).replace(/^(DECLARE|BEGIN|LOOP)\s+/, ''));
    // Its SQL parses; the rest is Snowflake Scripting (declarations, IF, LOOP, assignments, RAISE, RETURN).
    const sql = inner.filter((st) => /^(SHOW|SELECT|ALTER|CREATE)\b/.test(st));
    for (const st of sql) parseOne(st.replace(/ INTO :\w+/, ''));
    expect(
      inner.filter((st) => !sql.includes(st)).every((st) => SCRIPTING.test(st) || /^\w+ (VARCHAR|VARIANT|INTEGER|EXCEPTION)\b/.test(st)),
    ).toBe(true);
    // Snowflake's order: pause, wait for the queue to drain, recreate, then queue only what was staged since the pause.
    const step = (pattern: RegExp) => inner.findIndex((st) => pattern.test(st));
    const steps = [
      step(/^SHOW PIPES LIKE 'RAW_EVENTS_PIPE' IN SCHEMA SNOWGATE\.DEV$/),
      step(/^ALTER PIPE SNOWGATE\.DEV\.RAW_EVENTS_PIPE SET PIPE_EXECUTION_PAUSED = TRUE$/),
      step(/^paused_at := TO_VARCHAR\(CURRENT_TIMESTAMP\(\)/),
      step(/^pipe_status := PARSE_JSON\(SYSTEM\$PIPE_STATUS\('SNOWGATE\.DEV\.RAW_EVENTS_PIPE'\)\)/),
      step(/pendingFileCount::NUMBER = 0\) THEN\s+BREAK$/),
      step(/^CREATE OR REPLACE PIPE SNOWGATE\.DEV\.RAW_EVENTS_PIPE\s/),
      step(/^EXECUTE IMMEDIATE 'ALTER PIPE SNOWGATE\.DEV\.RAW_EVENTS_PIPE REFRESH MODIFIED_AFTER = ''' \|\| paused_at \|\| ''''$/),
    ];
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    // A drained wait that never comes resumes the old pipe, untouched, before failing.
    expect(inner.find((st) => st.includes('waited >= 600'))).toMatch(
      /THEN\s+ALTER PIPE SNOWGATE\.DEV\.RAW_EVENTS_PIPE SET PIPE_EXECUTION_PAUSED = FALSE$/,
    );
    // The new COPY fills every column, and is what the guard recognises: a second apply does nothing.
    const pipe = inner[steps[5]!]!;
    expect(topLevelOptions(pipe)).toEqual(['AUTO_INGEST', 'COMMENT']);
    const copySql = pipe.slice(pipe.search(/\bAS\s+COPY INTO\b/) + 2).trim();
    const copy = at(parseOne(copySql), 'copy');
    expect(listAt(copy, 'this', 'schema', 'expressions').map((c) => at(c, 'column', 'name', 'name'))).toEqual([
      'record',
      'received_at',
      'request_id',
      'source_file',
      'file_row_number',
      'loaded_at',
      'auth',
      'producer',
    ]);
    expect(copySql).toMatch(/METADATA\$START_SCAN_TIME,\s+\$1:auth::VARCHAR,\s+\$1:producer::VARCHAR\s+FROM @SNOWGATE\.DEV\.LANDING/);
    expect(copySql).toMatch(/ON_ERROR = SKIP_FILE$/);
    expect(inner.find((st) => st.startsWith('IF (CONTAINS(current_copy'))).toMatch(
      /^IF \(CONTAINS\(current_copy, '\$1:producer'\)\) THEN\s+RETURN '/,
    );
  });

  it('keeps one row per event in a dynamic table, refreshed incrementally, that RAW_EVENTS_LATEST reads', () => {
    const table = find('V1.5.0__callers_and_unique_events.sql', 'CREATE DYNAMIC TABLE IF NOT EXISTS SNOWGATE.DEV.RAW_EVENTS_UNIQUE');
    expect(kindOf(parseOne(table))).toBe('create_table');
    expect(table).toMatch(/\sTARGET_LAG = '15 minutes'\s+WAREHOUSE = SNOWGATE_WH\s+REFRESH_MODE = INCREMENTAL\s/);
    const columns = 'record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer';
    expect(table).toContain(`SELECT ${columns}\n  FROM SNOWGATE.DEV.RAW_EVENTS\n`);
    // The same event: the same caller, and the same id of the same JSON type; the latest received kept.
    expect(table.replace(/\s+/g, ' ')).toContain(
      'QUALIFY ROW_NUMBER() OVER ( PARTITION BY auth, producer, IS_VARCHAR(record:id), record:id::VARCHAR ORDER BY received_at DESC, loaded_at DESC, source_file DESC, file_row_number DESC ) = 1',
    );
    const view = find('R__views.sql', 'CREATE OR REPLACE VIEW SNOWGATE.DEV.RAW_EVENTS_LATEST');
    expect(view).toMatch(new RegExp(`AS\\s+SELECT ${columns}\\s+FROM SNOWGATE\\.DEV\\.RAW_EVENTS_UNIQUE$`));
    expect(view).not.toMatch(/ROW_NUMBER|QUALIFY/); // nothing sorted when it is read
  });

  it("alerts the stage's alarm topic when files wait and nothing loads, or a file is skipped: a condition and an action that parse", () => {
    const statements = statementsOf('V1.6.0__freshness_alert.sql');
    const integration = statements.find((s) => s.startsWith('CREATE NOTIFICATION INTEGRATION'))!;
    for (const option of ['TYPE = QUEUE', 'DIRECTION = OUTBOUND', 'NOTIFICATION_PROVIDER = AWS_SNS', 'ENABLED = TRUE'])
      expect(integration).toContain(option);
    for (const statement of [integration, statements.find((s) => s.startsWith('ALTER NOTIFICATION INTEGRATION'))!]) {
      expect(statement).toContain(`AWS_SNS_TOPIC_ARN = '${variables.alert_topic_arn}'`);
      expect(statement).toContain(`AWS_SNS_ROLE_ARN = '${variables.alert_role_arn}'`);
    }
    // Replaced, the integration would get a new external ID, which the alert role does not trust.
    expect(
      allScripts()
        .flatMap((s) => s.statements)
        .some((s) => /CREATE OR REPLACE NOTIFICATION INTEGRATION/i.test(s)),
    ).toBe(false);

    const alert = statements.find((s) => s.startsWith('CREATE OR REPLACE ALERT'))!;
    expect(alert).toMatch(/^CREATE OR REPLACE ALERT SNOWGATE\.DEV\.LOAD_FRESHNESS_ALERT\s/);
    expect(topLevelOptions(alert)).toEqual(['SCHEDULE', 'COMMENT']); // no WAREHOUSE: serverless
    expect(alert).toContain("SCHEDULE = '15 MINUTE'");
    // polyglot passes CREATE ALERT through whole: parse its condition and its action on their own.
    const condition = /\sIF \(EXISTS \(([\s\S]+)\)\)\s+THEN\s/.exec(alert)![1]!;
    const union = at(parseOne(condition), 'union');
    expect(union).toBeDefined();
    expect(condition).toContain('FROM SNOWGATE.DEV.LOAD_FRESHNESS AS f');
    expect(condition).toContain('CROSS JOIN SNOWGATE.DEV.PIPE_STATUS AS p');
    expect(condition).toContain("DATEADD('minute', -60, CURRENT_TIMESTAMP())");
    expect(condition).toMatch(
      /FROM SNOWGATE\.DEV\.LOAD_FAILURES\s+WHERE last_load_time > COALESCE\(SNOWFLAKE\.ALERT\.LAST_SUCCESSFUL_SCHEDULED_TIME\(\)/,
    );
    const action = alert.slice(alert.search(/\sTHEN\s/) + 6).trim();
    expect(kindOf(parseOne(action))).toBe('command');
    expect(action).toMatch(
      /^CALL SYSTEM\$SEND_SNOWFLAKE_NOTIFICATION\(\s*SNOWFLAKE\.NOTIFICATION\.APPLICATION_JSON\('(\{[^']+\})'\),\s*SNOWFLAKE\.NOTIFICATION\.INTEGRATION\('SNOWGATE_DEV_ALERTS'\)\s*\)$/,
    );
    const message = JSON.parse(/APPLICATION_JSON\('(\{[^']+\})'\)/.exec(action)![1]!);
    expect(message).toMatchObject({ AlarmName: 'snowgate-DEV-SnowflakeLoads', NewStateValue: 'ALARM' });
    expect(statements.at(-1)).toBe('ALTER ALERT SNOWGATE.DEV.LOAD_FRESHNESS_ALERT RESUME'); // created suspended
  });

  it("sends the pipe's load errors to the LoadErrors topic through an outbound SNS integration, never replaced", () => {
    const statements = statementsOf('V1.7.0__load_error_notifications.sql');
    expect(statements[0]).toBe(`USE ROLE ${variables.admin_role}`);
    const integration = statements.find((s) => s.startsWith('CREATE NOTIFICATION INTEGRATION IF NOT EXISTS SNOWGATE_DEV_LOAD_ERRORS'))!;
    for (const option of ['TYPE = QUEUE', 'DIRECTION = OUTBOUND', 'NOTIFICATION_PROVIDER = AWS_SNS', 'ENABLED = TRUE'])
      expect(integration).toContain(option);
    for (const statement of [
      integration,
      statements.find((s) => s.startsWith('ALTER NOTIFICATION INTEGRATION SNOWGATE_DEV_LOAD_ERRORS SET'))!,
    ]) {
      expect(statement).toContain(`AWS_SNS_TOPIC_ARN = '${variables.error_topic_arn}'`);
      expect(statement).toContain(`AWS_SNS_ROLE_ARN = '${variables.alert_role_arn}'`);
    }
    expect(statements.at(-1)).toBe('ALTER PIPE SNOWGATE.DEV.RAW_EVENTS_PIPE SET ERROR_INTEGRATION = SNOWGATE_DEV_LOAD_ERRORS');
  });

  it("has a streaming pipe, the loader's, whose COPY maps every column from the consumer's row, and says what streamed rows hold", () => {
    const statements = statementsOf('V1.8.0__streaming_pipe.sql');
    const pipe = statements.find((s) => s.startsWith('CREATE PIPE'))!;
    // Created under the loader's own privileges (it owns the pipe: OPERATE, which Snowpipe Streaming needs), then the reader's MONITOR.
    expect(statements.slice(0, 5)).toEqual([
      `USE ROLE ${variables.loader_role}`,
      'USE SECONDARY ROLES NONE',
      pipe,
      `USE ROLE ${variables.admin_role}`,
      `GRANT MONITOR ON PIPE SNOWGATE.DEV.RAW_EVENTS_STREAMING_PIPE TO ROLE ${variables.reader_role}`,
    ]);
    expect(pipe).toMatch(/^CREATE PIPE IF NOT EXISTS SNOWGATE\.DEV\.RAW_EVENTS_STREAMING_PIPE\s/);
    // No AUTO_INGEST: nothing notifies it; the consumer appends through it.
    expect(topLevelOptions(pipe)).toEqual(['COMMENT']);
    const copySql = pipe.slice(pipe.search(/\bAS\s+COPY INTO\b/) + 2).trim();
    const copy = at(parseOne(copySql), 'copy');
    expect(at(copy, 'this', 'schema', 'this', 'table', 'name', 'name')).toBe('RAW_EVENTS');
    const columns = ['record', 'received_at', 'request_id', 'source_file', 'file_row_number', 'loaded_at', 'auth', 'producer'];
    expect(listAt(copy, 'this', 'schema', 'expressions').map((c) => at(c, 'column', 'name', 'name'))).toEqual(columns);
    // Each column from the row's field of the same name, cast to the column's type.
    const types: Record<string, string> = {
      record: '',
      received_at: '::TIMESTAMP_TZ',
      request_id: '::VARCHAR',
      source_file: '::VARCHAR',
      file_row_number: '::NUMBER(38, 0)',
      loaded_at: '::TIMESTAMP_LTZ',
      auth: '::VARCHAR',
      producer: '::VARCHAR',
    };
    const select = /SELECT\s+([\s\S]+?)\s+FROM TABLE\(DATA_SOURCE\(TYPE => 'STREAMING'\)\)\s*\)$/.exec(copySql);
    expect(select, copySql).not.toBeNull();
    expect(select![1]!.split(/,\s+(?![^(]*\))/)).toEqual(columns.map((c) => `$1:${c}${types[c]}`));
    expect(copySql).not.toMatch(/CURRENT_TIMESTAMP|METADATA\$|ON_ERROR/);
    // The file-only column comments of V1.3.0 now say what a streamed row holds.
    const comments = statements.filter((s) => s.startsWith('COMMENT ON COLUMN'));
    expect(comments.map((c) => kindOf(parseOne(c)))).toEqual(['comment', 'comment', 'comment']);
    expect(comments.map((c) => /^COMMENT ON COLUMN SNOWGATE\.DEV\.RAW_EVENTS\.(\w+) IS/.exec(c)?.[1])).toEqual([
      'source_file',
      'file_row_number',
      'loaded_at',
    ]);
    expect(comments[0]).toContain('kinesis:<shardId>:<sequenceNumber>');
  });

  it('grants the loader only what Snowpipe needs, and the reader only reads', () => {
    const grants = allScripts()
      .flatMap((s) => s.statements.map(stripComments))
      .filter((s) => s.startsWith('GRANT') && !s.startsWith('GRANT ROLE'));
    const to = (role: string) => grants.filter((g) => g.endsWith(`TO ROLE ${role}`)).map((g) => g.replace(/ TO ROLE \w+$/, ''));
    expect(to(variables.loader_role)).toEqual([
      'GRANT USAGE ON DATABASE SNOWGATE',
      'GRANT USAGE ON SCHEMA SNOWGATE.DEV',
      'GRANT CREATE PIPE ON SCHEMA SNOWGATE.DEV',
      'GRANT USAGE ON FILE FORMAT SNOWGATE.DEV.NDJSON_ENVELOPE',
      'GRANT USAGE ON STAGE SNOWGATE.DEV.LANDING',
      'GRANT SELECT, INSERT ON TABLE SNOWGATE.DEV.RAW_EVENTS',
    ]);
    for (const grant of to(variables.reader_role))
      expect(grant).toMatch(/^GRANT (USAGE ON (DATABASE|SCHEMA|WAREHOUSE)|SELECT ON (TABLE|VIEW)|MONITOR ON PIPE) /);
    expect(grants.every((g) => !/\bALL\b|OWNERSHIP|ACCOUNTADMIN/.test(g))).toBe(true);
  });

  it('takes names and ARNs as variables: no literal ARN, bucket, account or object name in the files', () => {
    const files = [
      ...readdirSync(join(SNOWFLAKE_DIR, 'migrations')).map((f) => join(SNOWFLAKE_DIR, 'migrations', f)),
      join(SNOWFLAKE_DIR, 'teardown.sql'),
    ];
    for (const file of files) {
      const code = stripComments(readFileSync(file, 'utf8'));
      expect(code, file).not.toMatch(/arn:aws|s3:\/\/|\d{12}/);
      // Object names outside string literals (COMMENT text may name the table).
      expect(code.replace(/'(?:[^']|'')*'/g, "''"), file).not.toMatch(/\bSNOWGATE\b|\bRAW_EVENTS\b|ACCOUNTADMIN|\bLANDING\b/);
    }
  });

  it('tears down its own objects, pipes first, and keeps the database, the schema and the warehouse', () => {
    const teardown = renderTeardown(variables).statements.map(stripComments);
    expect(teardown.filter((s) => s.startsWith('DROP'))).toEqual([
      'DROP PIPE IF EXISTS SNOWGATE.DEV.RAW_EVENTS_PIPE',
      'DROP PIPE IF EXISTS SNOWGATE.DEV.RAW_EVENTS_STREAMING_PIPE',
      'DROP ALERT IF EXISTS SNOWGATE.DEV.LOAD_FRESHNESS_ALERT',
      'DROP VIEW IF EXISTS SNOWGATE.DEV.LOAD_FRESHNESS',
      ...['PIPE_STATUS', 'LOAD_FAILURES', 'COPY_HISTORY_RECENT', 'INGEST_LATENCY', 'RAW_EVENTS_LATEST'].map(
        (v) => `DROP VIEW IF EXISTS SNOWGATE.DEV.${v}`,
      ),
      'DROP DYNAMIC TABLE IF EXISTS SNOWGATE.DEV.RAW_EVENTS_UNIQUE',
      'DROP STAGE IF EXISTS SNOWGATE.DEV.LANDING',
      'DROP FILE FORMAT IF EXISTS SNOWGATE.DEV.NDJSON_ENVELOPE',
      'DROP TABLE IF EXISTS SNOWGATE.DEV.RAW_EVENTS',
      'DROP INTEGRATION IF EXISTS SNOWGATE_DEV_S3',
      'DROP INTEGRATION IF EXISTS SNOWGATE_DEV_ALERTS',
      'DROP INTEGRATION IF EXISTS SNOWGATE_DEV_LOAD_ERRORS',
      'DROP ROLE IF EXISTS SNOWGATE_DEV_READER',
      'DROP ROLE IF EXISTS SNOWGATE_DEV_LOADER',
      'DROP TABLE IF EXISTS SNOWGATE.DEV.MIGRATION_HISTORY',
    ]);
    expect(teardown.join('\n')).not.toMatch(/DROP (SCHEMA|DATABASE|WAREHOUSE)/);
  });
});

describe('rendering', () => {
  it('refuses unknown variables, stray braces, and values that could carry SQL', () => {
    expect(() => render('USE ROLE {{ admin_rol }};', variables)).toThrow(/unknown variable \{\{ admin_rol \}\}/);
    expect(() => render('a }} b', variables)).toThrow(/stray/);
    const bad = (patch: Partial<Record<keyof SnowflakeVariables, string>>) =>
      snowflakeVariablesSchema.safeParse({ ...variables, ...patch }).success;
    expect(bad({})).toBe(true);
    expect(bad({ table: 'RAW_EVENTS; DROP TABLE X' })).toBe(false);
    expect(bad({ database: '"quoted"' })).toBe(false);
    expect(bad({ external_id: "x' OR '1" })).toBe(false);
    expect(bad({ stage_url: 's3://bucket/events' })).toBe(false); // no trailing slash
    expect(bad({ aws_role_arn: 'arn:aws:iam::123:role/x' })).toBe(false);
  });

  it('splits on semicolons outside strings, identifiers, $$ bodies and comments', () => {
    expect(
      splitStatements(
        `USE ROLE R; -- a comment; with a semicolon\nSELECT ';' AS "a;b"; /* ; */ CREATE X AS $$ a; b $$;\n-- only a comment`,
      ),
    ).toEqual(['USE ROLE R', `-- a comment; with a semicolon\nSELECT ';' AS "a;b"`, '/* ; */ CREATE X AS $$ a; b $$']);
    expect(splitStatements(`SELECT 'it''s; fine'`)).toEqual([`SELECT 'it''s; fine'`]);
  });
});
