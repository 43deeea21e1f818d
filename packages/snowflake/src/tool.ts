import {
  formatZodError,
  parseStageConfig,
  type SnowflakeWiring,
  snowflakeWiringParameter,
  STREAMING_PIPE,
  type StageConfig,
} from '@snowgate/config';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from '@snowgate/core/zod';
import {
  applyMigrations,
  executeIn,
  leftToDrop,
  loadMigrations,
  newRunPrefix,
  runTeardownScript,
  ScriptError,
  type SqlApi,
} from './runner';
import { renderTeardown, snowflakeVariablesSchema, stripComments, type Script, type SnowflakeVariables } from './sql';
import type { WiringStore } from './wiring-store';

/** A run of statements, each with its rows (the backfill's view of Snowflake; `apiSession` gives one over the SQL API). */
export interface SqlSession {
  execute(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * The outputs of the deployed stacks that the SQL takes (written by `sst deploy` to `.sst/outputs.json`):
 * the Snowflake stack's (with the LoadErrors topic), and the Alarms stack's topic and the role Snowflake publishes with.
 */
export const stackOutputsSchema = z.object({
  SnowflakeRoleArn: z.string(),
  SnowflakeExternalId: z.string(),
  SnowflakeStageUrl: z.string(),
  AlarmTopic: z.string(),
  SnowflakeAlertRoleArn: z.string(),
  SnowflakeErrorTopicArn: z.string(),
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
    error_integration: `SNOWGATE_${STAGE}_LOAD_ERRORS`,
    error_topic_arn: outputs.SnowflakeErrorTopicArn,
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
  /** The SQL API client, signed in; never called on a dry run. */
  connect: () => Promise<SqlApi>;
  print: (text: string) => void;
  /** Seeds the statements' request IDs (default: a new one for this run). */
  requestIdPrefix?: string;
}

/** A script as it would run: each statement with its `;`, under its file's name. */
export function formatScripts(scripts: Script[]): string {
  return scripts.map((s) => `-- ${s.file}\n${s.statements.map((st) => `${st};`).join('\n\n')}\n`).join('\n');
}

const propertyOf = (rows: Record<string, unknown>[], name: string) => {
  const row = rows.find((r) => String(r.property ?? r.PROPERTY).toUpperCase() === name);
  return row ? String(row.property_value ?? row.PROPERTY_VALUE) : undefined;
};

const normalize = (sql: string) => stripComments(sql).replace(/\s+/g, ' ').replace(/;$/, '').trim();

/** What the AWS side needs from Snowflake once the migrations ran. */
export interface SnowflakeReadBack {
  /** `DESC INTEGRATION` → `STORAGE_AWS_IAM_USER_ARN`: the user the Snowflake role trusts. */
  iamUserArn: string;
  /** `DESC INTEGRATION` → `STORAGE_AWS_EXTERNAL_ID` (checked to be the stage's). */
  storageExternalId: string;
  /** `SHOW PIPES` → `notification_channel`: the queue the landing prefix notifies. */
  notificationChannelArn: string;
  /** The freshness alert's notification integration's `SF_AWS_EXTERNAL_ID`. */
  alertExternalId: string;
  /** The load-error notification integration's `SF_AWS_EXTERNAL_ID`. */
  errorExternalId: string;
}

/**
 * Reads back what the AWS side needs, and checks it: the storage integration's external ID is the
 * stage's, and both notification integrations publish as the storage integration's IAM user (the
 * alert role trusts one user).
 */
export async function readBack(sql: SqlApi, v: SnowflakeVariables): Promise<SnowflakeReadBack> {
  const context = { role: v.admin_role };
  const integration = await executeIn(sql, `DESC INTEGRATION ${v.integration}`, context);
  const iamUserArn = propertyOf(integration, 'STORAGE_AWS_IAM_USER_ARN');
  const storageExternalId = propertyOf(integration, 'STORAGE_AWS_EXTERNAL_ID');
  if (!iamUserArn) throw new Error(`DESC INTEGRATION ${v.integration} shows no STORAGE_AWS_IAM_USER_ARN`);
  if (storageExternalId !== v.external_id)
    throw new Error(`integration ${v.integration} has external ID ${storageExternalId}, not ${v.external_id}`);
  const pipes = await executeIn(sql, `SHOW PIPES LIKE '${v.pipe}' IN SCHEMA ${v.database}.${v.schema}`, context);
  const notificationChannelArn = pipes
    .map((p) => p.notification_channel ?? p.NOTIFICATION_CHANNEL)
    .find((c) => typeof c === 'string' && c.startsWith('arn:'));
  if (typeof notificationChannelArn !== 'string')
    throw new Error(`SHOW PIPES shows no notification_channel for ${v.pipe}: is AUTO_INGEST on?`);
  // The notification integrations have external IDs of Snowflake's choosing: the alert role trusts them.
  const notificationExternalId = async (name: string) => {
    const rows = await executeIn(sql, `DESC NOTIFICATION INTEGRATION ${name}`, context);
    const externalId = propertyOf(rows, 'SF_AWS_EXTERNAL_ID');
    const user = propertyOf(rows, 'SF_AWS_IAM_USER_ARN');
    if (!externalId) throw new Error(`DESC NOTIFICATION INTEGRATION ${name} shows no SF_AWS_EXTERNAL_ID`);
    if (user !== iamUserArn)
      throw new Error(
        `integration ${name} publishes as ${user}, not the storage integration's ${iamUserArn}: the alert role trusts one user`,
      );
    return externalId;
  };
  const alertExternalId = await notificationExternalId(v.alert_integration);
  const errorExternalId = await notificationExternalId(v.error_integration);
  return { iamUserArn, storageExternalId, notificationChannelArn, alertExternalId, errorExternalId };
}

/**
 * Runs the migrations the stage has not run yet (see runner.ts), then reads back what the AWS side
 * needs (Snowflake's IAM user, the pipe's queue, the notification integrations' external IDs) and
 * stores it in Parameter Store, where every later `sst deploy` of the stage reads it from any
 * clone, and in `config/<stage>.snowflake.json` (for `pnpm synth`, and to review). Returns what it
 * wrote (nothing on a dry run).
 */
export async function applySnowflake(options: ToolOptions): Promise<SnowflakeWiring | undefined> {
  const { variables: v, print } = options;
  const migrations = loadMigrations(v);
  if (options.dryRun) {
    print(formatScripts(migrations));
    return undefined;
  }
  const sql = await options.connect();
  const { applied, skipped } = await applyMigrations(sql, v, {
    migrations,
    requestIdPrefix: options.requestIdPrefix ?? newRunPrefix(),
    warehouse: options.config.snowflake.account?.warehouse,
    print,
  });
  print(
    applied.length
      ? `applied ${applied.length} migrations${skipped.length ? ` (${skipped.length} already applied)` : ''}`
      : `nothing to apply: all ${skipped.length} migrations already applied`,
  );
  const { iamUserArn, notificationChannelArn, alertExternalId, errorExternalId } = await readBack(sql, v);
  const written: SnowflakeWiring = { iamUserArn, notificationChannelArn, alertExternalId, errorExternalId };
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
    `next: pnpm sst deploy --stage ${options.stage} (trusts Snowflake's IAM user, notifies the pipe's queue, lets the alerts and load errors publish)`,
  );
  return written;
}

/**
 * The teardown as it runs for a stage: everything the migrations created, except that a
 * production stage keeps `RAW_EVENTS` and its data, as its buckets and stream are kept
 * on `sst remove` (the table is the only long-term copy: landing files expire, the
 * stream and Time Travel hold days).
 */
export function teardownFor(stage: {
  config: Pick<StageConfig, 'production'>;
  variables: SnowflakeVariables;
  /** teardown.sql, where it is not in the repository (the custom resource's bundle). */
  file?: string;
}): { script: Script; keptTable?: string } {
  const script = renderTeardown(stage.variables, stage.file);
  if (!stage.config.production) return { script };
  const { database, schema, table } = stage.variables;
  const keptTable = `${database}.${schema}.${table}`;
  const dropsTable = (statement: string) => normalize(statement).toUpperCase() === `DROP TABLE IF EXISTS ${keptTable}`.toUpperCase();
  if (!script.statements.some(dropsTable))
    throw new Error(`teardown.sql no longer drops ${keptTable} as expected: cannot tell what to keep`);
  return { script: { ...script, statements: script.statements.filter((st) => !dropsTable(st)) }, keptTable };
}

/**
 * Runs a stage's teardown over the SQL API (a production stage keeps `RAW_EVENTS`: see `teardownFor`),
 * and says what it kept.
 */
export async function runTeardown(
  sql: SqlApi,
  stage: { config: StageConfig; variables: SnowflakeVariables },
  options: { requestIdPrefix: string; print?: (text: string) => void },
): Promise<{ keptTable?: string }> {
  const { script, keptTable } = teardownFor(stage);
  await runTeardownScript(sql, stage.variables, script, {
    requestIdPrefix: options.requestIdPrefix,
    warehouse: stage.config.snowflake.account?.warehouse,
    print: options.print,
  });
  return keptTable ? { keptTable } : {};
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
  try {
    await runTeardown(await options.connect(), options, {
      requestIdPrefix: options.requestIdPrefix ?? newRunPrefix(),
      print: options.print,
    });
  } catch (error) {
    if (!(error instanceof ScriptError)) throw error;
    throw new Error(
      `${error.message}. Left to drop, in order: ${leftToDrop(error.notRun).join(', ')}. The wiring is kept: fix the cause and remove again (what is gone stays gone)`,
      { cause: error },
    );
  }
  rmSync(join(options.configDir, `${options.stage}.snowflake.json`), { force: true });
  await options.wiring.remove(options.stage);
  if (kept) options.print(kept);
  options.print(
    `removed config/${options.stage}.snowflake.json and ${snowflakeWiringParameter(options.stage)}; next: pnpm sst deploy --stage ${options.stage} (drops the notification), or pnpm sst remove --stage ${options.stage}`,
  );
}
