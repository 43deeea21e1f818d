import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// zod/mini (tree-shaken): the custom resource's Lambda bundles this schema (classic zod is ~450 KB there).
import * as z from '@snowgate/core/zod';

/**
 * An unquoted Snowflake identifier: letters, digits, `_` and `$`, not starting with a digit
 * or `$`, at most 255 characters. Quoting is never needed for names we choose, and refusing
 * anything else means no variable can smuggle SQL into a statement.
 * https://docs.snowflake.com/en/sql-reference/identifiers-syntax
 */
const identifier = z
  .string()
  .check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]{0,254}$/, 'an unquoted Snowflake identifier (letters, digits, _ and $)'));
/** Text that goes inside '…': no quote, backslash or line break (so no escaping is ever needed). */
const literal = (pattern: RegExp, what: string) =>
  z.string().check(
    z.regex(pattern, what),
    z.refine((v) => !/['\\\r\n]/.test(v), "no ', \\ or line break"),
  );

/** Everything the SQL in `snowflake/` takes: names and ARNs are variables, never literals. */
export const snowflakeVariablesSchema = z.object({
  /** The role the tool runs the migrations as (needs CREATE INTEGRATION, or ACCOUNTADMIN). */
  admin_role: identifier,
  database: identifier,
  schema: identifier,
  warehouse: identifier,
  loader_role: identifier,
  reader_role: identifier,
  integration: identifier,
  file_format: identifier,
  stage: identifier,
  table: identifier,
  pipe: identifier,
  /** The pipe Snowpipe Streaming appends through (V1.8.0__streaming_pipe.sql), in both delivery modes. */
  streaming_pipe: identifier,
  /** The freshness alert (V1.6.0__freshness_alert.sql), in the stage's schema. */
  alert: identifier,
  /** The outbound notification integration it publishes through (account-wide). */
  alert_integration: identifier,
  /** The stack's output AlarmTopic: the SNS topic the AWS alarms notify. */
  alert_topic_arn: literal(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    'an SNS topic ARN (a standard topic: Snowflake cannot publish to FIFO)',
  ),
  /** The stack's output SnowflakeAlertRoleArn: the role Snowflake assumes to publish to it. */
  alert_role_arn: literal(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN'),
  /** The outbound notification integration the pipe's ERROR_INTEGRATION publishes through (V1.7.0, account-wide). */
  error_integration: identifier,
  /** The stack's output SnowflakeErrorTopicArn: the LoadErrors SNS topic. */
  error_topic_arn: literal(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    'an SNS topic ARN (a standard topic: Snowflake cannot publish to FIFO)',
  ),
  /** Minutes without a load, while files wait, before the alert fires (config `alarms.loadFreshnessMinutes`). */
  freshness_minutes: z.string().check(z.regex(/^[1-9]\d{0,4}$/, 'whole minutes')),
  /** The stack's output SnowflakeRoleArn. */
  aws_role_arn: literal(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN'),
  /** The stack's output SnowflakeExternalId (config `snowflake.externalId`). */
  external_id: literal(/^[\w+=,.@:/-]{2,1224}$/, 'an external ID'),
  /** The stack's output SnowflakeStageUrl: `s3://<landing bucket>/<prefix>/`, with the trailing slash. */
  stage_url: literal(
    /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([A-Za-z0-9!_.*()=-]+\/)+$/,
    's3://<bucket>/<prefix>/ with a trailing slash',
  ),
});
export type SnowflakeVariables = z.infer<typeof snowflakeVariablesSchema>;

/**
 * Replaces every `{{ name }}` with its variable. An unknown name is an error, so that a
 * typo never reaches Snowflake as literal text.
 *
 * @example
 * render('USE SCHEMA {{ database }}.{{ schema }};', vars) // → 'USE SCHEMA SNOWGATE.RAW;'
 */
export function render(template: string, variables: Record<string, string>, source = 'template'): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\{\{|\}\}/g, (match, name: string | undefined) => {
    if (name === undefined) throw new Error(`${source}: a stray "${match}"`);
    const value = variables[name];
    if (value === undefined) throw new Error(`${source}: unknown variable {{ ${name} }}`);
    return value;
  });
}

/**
 * Splits a script into statements on `;`, minding '…' strings, "…" identifiers,
 * $$…$$ bodies and comments. Comment-only pieces are dropped; each statement keeps its
 * own comments and loses the `;`.
 *
 * @example
 * splitStatements("USE ROLE R; -- x\nSELECT ';';") // → ['USE ROLE R', "-- x\nSELECT ';'"]
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const text = script.slice(start, end).trim();
    if (stripComments(text).trim() !== '') statements.push(text);
  };
  while (i < script.length) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === "'" || c === '"') {
      i++;
      while (i < script.length) {
        if (script[i] === c && script[i + 1] === c)
          i += 2; // '' inside '…'
        else if (c === "'" && script[i] === '\\')
          i += 2; // \' inside '…'
        else if (script[i] === c) break;
        else i++;
      }
      i++;
    } else if (c === '$' && next === '$') {
      const end = script.indexOf('$$', i + 2);
      i = end < 0 ? script.length : end + 2;
    } else if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end < 0 ? script.length : end + 1;
    } else if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end < 0 ? script.length : end + 2;
    } else if (c === ';') {
      push(i);
      start = ++i;
    } else {
      i++;
    }
  }
  push(script.length);
  return statements;
}

/** The statement without `--` and `/* … *\/` comments (outside strings), for display and checks. */
export function stripComments(statement: string): string {
  return statement
    .replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, (m) => (m.startsWith('--') || m.startsWith('/*') ? '' : m))
    .trim();
}

export interface Script {
  /** File name, e.g. `V1.2.0__storage_integration.sql`. */
  file: string;
  statements: string[];
}

const VERSIONED = /^V(\d+(?:\.\d+)*)__\w+\.sql$/;
const REPEATABLE = /^R__\w+\.sql$/;

const compareVersions = (a: string, b: string) => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

/**
 * The migrations in schemachange's order: versioned files (`V<version>__<name>.sql`) by
 * version, then repeatable ones (`R__<name>.sql`) by name. Any other `.sql` file is an error,
 * so that a misnamed migration is never silently skipped.
 */
export function migrationFiles(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  const stray = files.filter((f) => !VERSIONED.test(f) && !REPEATABLE.test(f));
  if (stray.length) throw new Error(`not a migration name (V<version>__<name>.sql or R__<name>.sql): ${stray.join(', ')}`);
  const versioned = files.filter((f) => VERSIONED.test(f)).sort((a, b) => compareVersions(VERSIONED.exec(a)![1]!, VERSIONED.exec(b)![1]!));
  const versions = versioned.map((f) => VERSIONED.exec(f)![1]);
  const duplicate = versions.find((v, i) => versions.indexOf(v) !== i);
  if (duplicate) throw new Error(`two migrations with version ${duplicate}`);
  return [...versioned, ...files.filter((f) => REPEATABLE.test(f)).sort()];
}

/** Where the SQL lives: `snowflake/` at the repository root. */
export const SNOWFLAKE_DIR = new URL('../../../snowflake/', import.meta.url).pathname;

/** Every migration, rendered and split into statements, in the order they run. */
export function renderMigrations(variables: SnowflakeVariables, dir = join(SNOWFLAKE_DIR, 'migrations')): Script[] {
  return migrationFiles(dir).map((file) => ({
    file,
    statements: splitStatements(render(readFileSync(join(dir, file), 'utf8'), variables, file)),
  }));
}

/** The teardown script, rendered. */
export function renderTeardown(variables: SnowflakeVariables, file = join(SNOWFLAKE_DIR, 'teardown.sql')): Script {
  return { file: 'teardown.sql', statements: splitStatements(render(readFileSync(file, 'utf8'), variables, 'teardown.sql')) };
}
