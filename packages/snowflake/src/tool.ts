import { formatZodError, parseStageConfig, snowflakeWiringParameter, STREAMING_PIPE, type StageConfig } from '@snowgate/config';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  renderMigrations,
  renderTeardown,
  snowflakeVariablesSchema,
  splitStatements,
  stripComments,
  type Script,
  type SnowflakeVariables,
} from './sql';
import type { WiringStore } from './wiring-store';

/** What the tool needs from a Snowflake session: run one statement, get its rows. */
export interface SqlSession {
  execute(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * The outputs of the deployed stacks that the SQL takes (written by `sst deploy` to `.sst/outputs.json`):
 * the Snowflake stack's, and the Alarms stack's topic and the role Snowflake publishes to it with.
 */
export const stackOutputsSchema = z.object({
  SnowflakeRoleArn: z.string(),
  SnowflakeExternalId: z.string(),
  SnowflakeStageUrl: z.string(),
  AlarmTopic: z.string(),
  SnowflakeAlertRoleArn: z.string(),
});
export type StackOutputs = z.infer<typeof stackOutputsSchema>;

/**
 * The Snowflake and Alarms stacks' outputs for a stage, from SST's outputs file
 * (`{ "<stage>-<app>-Snowflake": { "SnowflakeRoleArn": … }, "<stage>-<app>-Alarms": { "AlarmTopic": … } }`).
 */
export function readStackOutputs(stage: string, file: string, app = 'snowgate'): StackOutputs {
  if (!existsSync(file))
    throw new Error(`no ${file}: deploy the AWS side first (pnpm sst deploy --stage ${stage}), or pass --outputs <file>`);
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
  const key = `${stage}-${app}-Snowflake`;
  if (!(key in all)) throw new Error(`${file} has no outputs for stage "${stage}" (looked for "${key}"): deploy that stage first`);
  const alarms = `${stage}-${app}-Alarms`;
  const parsed = stackOutputsSchema.safeParse({ ...all[alarms], ...all[key] });
  if (!parsed.success)
    throw new Error(
      `${file} → ${key} and ${alarms} lack ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}: redeploy the stage`,
    );
  return parsed.data;
}

/**
 * The SQL variables for a stage: object names from its config (defaults derived from the
 * stage, so that several stages can share an account), ARNs and the stage URL from its stack.
 *
 * @example
 * snowflakeVariables('dev', config, outputs).integration // → 'SNOWGATE_DEV_S3'
 */
export function snowflakeVariables(stage: string, config: StageConfig, outputs: StackOutputs): SnowflakeVariables {
  if (outputs.SnowflakeExternalId !== config.snowflake.externalId) {
    throw new Error(
      `the deployed stack's external ID (${outputs.SnowflakeExternalId}) is not config/${stage}.json's (${config.snowflake.externalId}): deploy the config first`,
    );
  }
  const STAGE = stage.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const { objects } = config.snowflake;
  const parsed = snowflakeVariablesSchema.safeParse({
    admin_role: objects.adminRole,
    database: objects.database,
    schema: objects.schema ?? STAGE,
    warehouse: objects.warehouse,
    loader_role: `SNOWGATE_${STAGE}_LOADER`,
    reader_role: `SNOWGATE_${STAGE}_READER`,
    integration: `SNOWGATE_${STAGE}_S3`,
    file_format: 'NDJSON_ENVELOPE',
    stage: 'LANDING',
    table: 'RAW_EVENTS',
    pipe: 'RAW_EVENTS_PIPE',
    streaming_pipe: STREAMING_PIPE,
    alert: 'LOAD_FRESHNESS_ALERT',
    alert_integration: `SNOWGATE_${STAGE}_ALERTS`,
    alert_topic_arn: outputs.AlarmTopic,
    alert_role_arn: outputs.SnowflakeAlertRoleArn,
    freshness_minutes: String(config.alarms.loadFreshnessMinutes),
    aws_role_arn: outputs.SnowflakeRoleArn,
    external_id: outputs.SnowflakeExternalId,
    stage_url: outputs.SnowflakeStageUrl,
  });
  if (!parsed.success) throw new Error(`cannot render the SQL:\n${formatZodError(parsed.error, { root: '' })}`);
  return parsed.data;
}

export interface ToolOptions {
  stage: string;
  config: StageConfig;
  variables: SnowflakeVariables;
  /** Where `config/<stage>.snowflake.json` is written. */
  configDir: string;
  /** Where every deploy finds the wiring (Parameter Store); never touched on a dry run. */
  wiring: WiringStore;
  dryRun: boolean;
  /** Opens a session; never called on a dry run. */
  connect: () => Promise<SqlSession>;
  print: (text: string) => void;
}

/** A script as it would run: each statement with its `;`, under its file's name. */
export function formatScripts(scripts: Script[]): string {
  return scripts.map((s) => `-- ${s.file}\n${s.statements.map((st) => `${st};`).join('\n\n')}\n`).join('\n');
}

async function run(session: SqlSession, scripts: Script[], print: (text: string) => void): Promise<void> {
  for (const script of scripts) {
    print(`${script.file}: ${script.statements.length} statements`);
    for (const [i, statement] of script.statements.entries()) {
      try {
        await session.execute(statement);
      } catch (error) {
        const first = stripComments(statement).split('\n')[0];
        throw new Error(`${script.file}, statement ${i + 1} (${first}…) failed: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}

const propertyOf = (rows: Record<string, unknown>[], name: string) => {
  const row = rows.find((r) => String(r.property ?? r.PROPERTY).toUpperCase() === name);
  return row ? String(row.property_value ?? row.PROPERTY_VALUE) : undefined;
};

const normalize = (sql: string) => stripComments(sql).replace(/\s+/g, ' ').replace(/;$/, '').trim();

/**
 * The COPY of each pipe the migrations create, normalized, in order: `CREATE [OR REPLACE] PIPE` statements,
 * and those inside a Snowflake Scripting block (`EXECUTE IMMEDIATE $$ … $$`).
 */
export function pipeCopies(scripts: Script[]): string[] {
  const statements = scripts.flatMap((s) => s.statements).flatMap((st) => [st, ...blockStatements(st)]);
  return statements
    .map(stripComments)
    .filter((st) => /^CREATE (OR REPLACE )?PIPE\b/i.test(st))
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
async function refuseDrift(session: SqlSession, v: SnowflakeVariables, scripts: Script[]): Promise<void> {
  const existing = async (sql: string) => {
    try {
      return await session.execute(sql);
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

/**
 * Runs the migrations, then reads back what the AWS side needs (Snowflake's IAM user and
 * the pipe's queue) and stores it in Parameter Store, where every later `sst deploy` of the
 * stage reads it from any clone, and in `config/<stage>.snowflake.json` (for `pnpm synth`,
 * and to review). Returns what it wrote (nothing on a dry run).
 */
export async function applySnowflake(
  options: ToolOptions,
): Promise<{ iamUserArn: string; notificationChannelArn: string; alertExternalId: string } | undefined> {
  const { variables: v, print } = options;
  const scripts = renderMigrations(v);
  if (options.dryRun) {
    print(formatScripts(scripts));
    return undefined;
  }
  const session = await options.connect();
  try {
    await refuseDrift(session, v, scripts);
    await run(session, scripts, print);
    const integration = await session.execute(`DESC INTEGRATION ${v.integration}`);
    const iamUserArn = propertyOf(integration, 'STORAGE_AWS_IAM_USER_ARN');
    const externalId = propertyOf(integration, 'STORAGE_AWS_EXTERNAL_ID');
    if (!iamUserArn) throw new Error(`DESC INTEGRATION ${v.integration} shows no STORAGE_AWS_IAM_USER_ARN`);
    if (externalId !== v.external_id) throw new Error(`integration ${v.integration} has external ID ${externalId}, not ${v.external_id}`);
    const pipes = await session.execute(`SHOW PIPES LIKE '${v.pipe}' IN SCHEMA ${v.database}.${v.schema}`);
    const notificationChannelArn = pipes
      .map((p) => p.notification_channel ?? p.NOTIFICATION_CHANNEL)
      .find((c) => typeof c === 'string' && c.startsWith('arn:'));
    if (typeof notificationChannelArn !== 'string')
      throw new Error(`SHOW PIPES shows no notification_channel for ${v.pipe}: is AUTO_INGEST on?`);
    // The freshness alert's integration has an external ID of Snowflake's choosing: the alert role trusts it next deploy.
    const alerts = await session.execute(`DESC NOTIFICATION INTEGRATION ${v.alert_integration}`);
    const alertExternalId = propertyOf(alerts, 'SF_AWS_EXTERNAL_ID');
    const alertUser = propertyOf(alerts, 'SF_AWS_IAM_USER_ARN');
    if (!alertExternalId) throw new Error(`DESC NOTIFICATION INTEGRATION ${v.alert_integration} shows no SF_AWS_EXTERNAL_ID`);
    if (alertUser !== iamUserArn)
      throw new Error(
        `integration ${v.alert_integration} publishes as ${alertUser}, not the storage integration's ${iamUserArn}: the alert role trusts one user`,
      );
    const written = { iamUserArn, notificationChannelArn, alertExternalId };
    // The stack will read it back: refuse to write what it would refuse.
    parseStageConfig({ ...options.config, snowflake: { ...options.config.snowflake, ...written } }, `values read from Snowflake`);
    writeFileSync(join(options.configDir, `${options.stage}.snowflake.json`), `${JSON.stringify(written, null, 2)}\n`);
    print(`wrote config/${options.stage}.snowflake.json: ${JSON.stringify(written)}`);
    try {
      await options.wiring.write(options.stage, written);
    } catch (error) {
      throw new Error(
        `could not store the wiring in ${snowflakeWiringParameter(options.stage)} (${(error as Error).message}): a deploy from another clone would not find it. Fix the AWS credentials or region and apply again (it is idempotent), or commit config/${options.stage}.snowflake.json`,
        { cause: error },
      );
    }
    print(`stored it in Parameter Store ${snowflakeWiringParameter(options.stage)}, where every deploy of the stage reads it`);
    print(
      `next: pnpm sst deploy --stage ${options.stage} (trusts Snowflake's IAM user, notifies the pipe's queue, lets the freshness alert publish)`,
    );
    return written;
  } finally {
    await session.close();
  }
}

/**
 * The teardown as it runs for a stage: everything the migrations created, except that a
 * production stage keeps `RAW_EVENTS` and its data, as its buckets and stream are kept
 * on `sst remove` (the table is the only long-term copy: landing files expire, the
 * stream and Time Travel hold days).
 */
export function teardownFor(stage: { config: StageConfig; variables: SnowflakeVariables }): { script: Script; keptTable?: string } {
  const script = renderTeardown(stage.variables);
  if (!stage.config.production) return { script };
  const { database, schema, table } = stage.variables;
  const keptTable = `${database}.${schema}.${table}`;
  const dropsTable = (statement: string) => normalize(statement).toUpperCase() === `DROP TABLE IF EXISTS ${keptTable}`.toUpperCase();
  if (!script.statements.some(dropsTable))
    throw new Error(`teardown.sql no longer drops ${keptTable} as expected: cannot tell what to keep`);
  return { script: { ...script, statements: script.statements.filter((st) => !dropsTable(st)) }, keptTable };
}

/**
 * Runs the teardown and forgets the wiring (`config/<stage>.snowflake.json` and its
 * parameter), so that the next deploy removes the bucket notification to the (now
 * deleted) pipe's queue. A production stage
 * keeps `RAW_EVENTS` (see `teardownFor`), and says so.
 */
export async function removeSnowflake(options: ToolOptions): Promise<void> {
  const { script, keptTable } = teardownFor(options);
  const kept = keptTable
    ? `kept ${keptTable} and its data: "${options.stage}" is a production stage (drop it by hand once no longer needed)`
    : undefined;
  if (options.dryRun) {
    options.print(formatScripts([script]));
    if (kept) options.print(`-- ${kept}`);
    return;
  }
  const session = await options.connect();
  try {
    await run(session, [script], options.print);
  } finally {
    await session.close();
  }
  rmSync(join(options.configDir, `${options.stage}.snowflake.json`), { force: true });
  await options.wiring.remove(options.stage);
  if (kept) options.print(kept);
  options.print(
    `removed config/${options.stage}.snowflake.json and ${snowflakeWiringParameter(options.stage)}; next: pnpm sst deploy --stage ${options.stage} (drops the notification), or pnpm sst remove --stage ${options.stage}`,
  );
}
