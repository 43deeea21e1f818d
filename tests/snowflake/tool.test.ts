import { parseStageConfig } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import {
  applySnowflake,
  connectSnowflake,
  connectionSettingsFromEnv,
  readStackOutputs,
  removeSnowflake,
  renderMigrations,
  snowflakeVariables,
  stripComments,
  type ToolOptions,
} from '@snowgate/snowflake';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { createConnection } from 'snowflake-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The tool against a fake at the snowflake-sdk boundary: a `createConnection` that records
// the options it was given and every statement, and answers DESC INTEGRATION and SHOW PIPES
// as Snowflake does (rows of objects with lower-case column names).

const IAM_USER = 'arn:aws:iam::210987654321:user/abc1-s-v2st1234';
const QUEUE = 'arn:aws:sqs:us-east-1:210987654321:sf-snowpipe-AIDAEXAMPLE-abcdefgh';
const ALERT_EXTERNAL_ID = 'MYACCOUNT_SFCRole=2_abcdefghijklmnop=';

interface Existing {
  /** An existing stage's URL (SHOW STAGES); none: the stage does not exist yet. */
  stageUrl?: string;
  /** An existing pipe's COPY (SHOW PIPES → definition); none: whatever CREATE PIPE defined in this session. */
  pipeDefinition?: string;
  /** SHOW … IN SCHEMA fails: the schema does not exist yet. */
  noSchema?: boolean;
}

function fakeSdk({
  failOn,
  externalId = 'snowgate-dev',
  signInError,
  existing = {},
  alertUser = IAM_USER,
}: {
  failOn?: RegExp;
  externalId?: string;
  signInError?: string;
  existing?: Existing;
  /** The IAM user DESC NOTIFICATION INTEGRATION names (Snowflake's one per account). */
  alertUser?: string;
} = {}) {
  const log = { options: [] as unknown[], statements: [] as string[], connected: 0, destroyed: 0 };
  let createdCopy: string | undefined;
  const sdk = ((options: unknown) => {
    log.options.push(options);
    return {
      connect(cb: (err: Error | undefined, conn: unknown) => void) {
        log.connected++;
        cb(signInError ? new Error(signInError) : undefined, this);
      },
      execute({ sqlText, complete }: { sqlText: string; complete: (err: Error | undefined, stmt: unknown, rows?: unknown[]) => void }) {
        log.statements.push(sqlText);
        if (failOn?.test(sqlText)) return complete(new Error('SQL compilation error: Insufficient privileges'), {});
        if (sqlText.startsWith('DESC INTEGRATION')) {
          return complete(undefined, {}, [
            { property: 'ENABLED', property_type: 'Boolean', property_value: 'true' },
            { property: 'STORAGE_AWS_IAM_USER_ARN', property_type: 'String', property_value: IAM_USER },
            { property: 'STORAGE_AWS_ROLE_ARN', property_type: 'String', property_value: 'arn:aws:iam::123456789012:role/x' },
            { property: 'STORAGE_AWS_EXTERNAL_ID', property_type: 'String', property_value: externalId },
          ]);
        }
        if (sqlText.startsWith('DESC NOTIFICATION INTEGRATION')) {
          return complete(undefined, {}, [
            { property: 'ENABLED', property_type: 'Boolean', property_value: 'true' },
            { property: 'DIRECTION', property_type: 'String', property_value: 'OUTBOUND' },
            { property: 'AWS_SNS_TOPIC_ARN', property_type: 'String', property_value: outputs.AlarmTopic },
            { property: 'AWS_SNS_ROLE_ARN', property_type: 'String', property_value: outputs.SnowflakeAlertRoleArn },
            { property: 'SF_AWS_IAM_USER_ARN', property_type: 'String', property_value: alertUser },
            { property: 'SF_AWS_EXTERNAL_ID', property_type: 'String', property_value: ALERT_EXTERNAL_ID },
          ]);
        }
        if (sqlText.startsWith('SHOW') && existing.noSchema && !createdCopy)
          return complete(new Error("Schema 'SNOWGATE.DEV' does not exist or not authorized."), {});
        if (sqlText.startsWith('SHOW STAGES'))
          return complete(undefined, {}, existing.stageUrl ? [{ name: 'LANDING', url: existing.stageUrl }] : []);
        if (sqlText.includes('CREATE PIPE IF NOT EXISTS')) createdCopy = sqlText.slice(sqlText.search(/\bAS\s+COPY\b/) + 2).trim();
        if (sqlText.startsWith('SHOW PIPES')) {
          const definition = existing.pipeDefinition ?? createdCopy;
          return complete(undefined, {}, definition ? [{ name: 'RAW_EVENTS_PIPE', definition, notification_channel: QUEUE }] : []);
        }
        complete(undefined, {}, [{ status: 'Statement executed successfully.' }]);
      },
      destroy(cb: () => void) {
        log.destroyed++;
        cb();
      },
    };
  }) as unknown as typeof createConnection;
  return { sdk, log };
}

const outputs = {
  SnowflakeRoleArn: 'arn:aws:iam::123456789012:role/dev-snowgate-Snowflake-Role1',
  SnowflakeExternalId: 'snowgate-dev',
  SnowflakeStageUrl: 's3://dev-landing-1a2b/events/',
  AlarmTopic: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Alarms-AlarmTopic1A2B',
  SnowflakeAlertRoleArn: 'arn:aws:iam::123456789012:role/dev-snowgate-Alarms-SnowflakeAlertRole1',
};
const settings = {
  SNOWFLAKE_ACCOUNT: 'myorg-myaccount',
  SNOWFLAKE_USER: 'SNOWGATE_DEPLOY',
  SNOWFLAKE_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nMIIE…\n-----END PRIVATE KEY-----',
};

describe('pnpm snowflake:apply / snowflake:remove', () => {
  let dir: string;
  let printed: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-sf-'));
    printed = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const options = (sdk: typeof createConnection, dryRun = false): ToolOptions => {
    const config = loadStageConfig('dev', dir);
    const variables = snowflakeVariables('dev', config, outputs);
    return {
      stage: 'dev',
      config,
      variables,
      configDir: dir,
      dryRun,
      print: (t) => printed.push(t),
      connect: () => connectSnowflake(connectionSettingsFromEnv(settings), variables.admin_role, sdk),
    };
  };

  it('runs every migration in order with the variables substituted, reads back the IAM user and the queue, and writes them for the next deploy', async () => {
    const { sdk, log } = fakeSdk();
    const opts = options(sdk);
    const written = await applySnowflake(opts);

    expect(log.options).toEqual([
      {
        account: 'myorg-myaccount',
        username: 'SNOWGATE_DEPLOY',
        authenticator: 'SNOWFLAKE_JWT',
        role: 'ACCOUNTADMIN',
        application: 'Snowgate',
        privateKey: settings.SNOWFLAKE_PRIVATE_KEY,
      },
    ]);
    const expected = renderMigrations(opts.variables).flatMap((s) => s.statements);
    const [stageCheck, pipeCheck, ...rest] = log.statements;
    expect([stageCheck, pipeCheck]).toEqual([
      "SHOW STAGES LIKE 'LANDING' IN SCHEMA SNOWGATE.DEV",
      "SHOW PIPES LIKE 'RAW_EVENTS_PIPE' IN SCHEMA SNOWGATE.DEV",
    ]);
    expect(rest.slice(0, expected.length)).toEqual(expected);
    expect(rest.slice(expected.length)).toEqual([
      'DESC INTEGRATION SNOWGATE_DEV_S3',
      "SHOW PIPES LIKE 'RAW_EVENTS_PIPE' IN SCHEMA SNOWGATE.DEV",
      'DESC NOTIFICATION INTEGRATION SNOWGATE_DEV_ALERTS',
    ]);
    const all = log.statements.join('\n');
    expect(all).not.toContain('{{');
    expect(all).toContain(`STORAGE_AWS_ROLE_ARN = '${outputs.SnowflakeRoleArn}'`);
    expect(all).toContain(`URL = '${outputs.SnowflakeStageUrl}'`);
    expect(stripComments(log.statements.find((s) => s.includes('CREATE PIPE IF'))!)).toContain(
      'CREATE PIPE IF NOT EXISTS SNOWGATE.DEV.RAW_EVENTS_PIPE',
    );

    expect(all).toContain(`AWS_SNS_TOPIC_ARN = '${outputs.AlarmTopic}'`);
    expect(all).toContain(`AWS_SNS_ROLE_ARN = '${outputs.SnowflakeAlertRoleArn}'`);
    expect(written).toEqual({ iamUserArn: IAM_USER, notificationChannelArn: QUEUE, alertExternalId: ALERT_EXTERNAL_ID });
    expect(JSON.parse(readFileSync(join(dir, 'dev.snowflake.json'), 'utf8'))).toEqual(written);
    // …where the stack picks them up.
    expect(loadStageConfig('dev', dir).snowflake).toMatchObject({
      iamUserArn: IAM_USER,
      notificationChannelArn: QUEUE,
      alertExternalId: ALERT_EXTERNAL_ID,
      externalId: 'snowgate-dev',
    });
    expect(log.destroyed).toBe(1);
    expect(printed.join('\n')).toMatch(/next: pnpm sst deploy --stage dev/);
  });

  it('on --dry-run prints the rendered SQL and runs nothing: no connection, no settings needed, nothing written', async () => {
    const { sdk, log } = fakeSdk();
    await applySnowflake({ ...options(sdk, true), connect: () => Promise.reject(new Error('must not connect')) });
    expect(log.connected).toBe(0);
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
    const text = printed.join('\n');
    expect(text).toContain('-- V1.0.0__context.sql');
    expect(text).toContain('-- R__views.sql');
    expect(text).toContain(`STORAGE_AWS_EXTERNAL_ID = 'snowgate-dev';`.replace(';', ''));
    expect(text).not.toContain('{{');

    await removeSnowflake({ ...options(sdk, true), connect: () => Promise.reject(new Error('must not connect')) });
    expect(printed.join('\n')).toContain('DROP PIPE IF EXISTS SNOWGATE.DEV.RAW_EVENTS_PIPE;');
  });

  it('stops at the first failing statement, naming the file and statement, writes nothing and closes the session', async () => {
    const { sdk, log } = fakeSdk({ failOn: /CREATE STORAGE INTEGRATION/ });
    await expect(applySnowflake(options(sdk))).rejects.toThrow(
      /V1\.2\.0__storage_integration\.sql, statement 2 \(CREATE STORAGE INTEGRATION IF NOT EXISTS SNOWGATE_DEV_S3…\) failed: SQL compilation error: Insufficient privileges/,
    );
    expect(log.statements.at(-1)).toMatch(/CREATE STORAGE INTEGRATION/);
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
    expect(log.destroyed).toBe(1);
  });

  it('reapplies over what it created before (same stage URL and COPY), also when the schema does not exist yet', async () => {
    const first = fakeSdk({ existing: { noSchema: true } });
    await applySnowflake(options(first.sdk));
    const copyOf = (statement: string) =>
      statement
        .slice(statement.search(/\bAS\s+COPY\b/) + 2)
        .split(/;\s*(?:EXECUTE|$)/)[0]!
        .replace(/\n\s+/g, '\n');
    // V1.4.0's pipe (a stage applied before V1.5.0 recreates it), and V1.5.0's (recreated in its scripting block).
    const created = copyOf(first.log.statements.find((s) => s.includes('CREATE PIPE IF NOT EXISTS'))!);
    const recreated = copyOf(first.log.statements.find((s) => s.includes('CREATE OR REPLACE PIPE'))!);
    expect(recreated).toContain('$1:producer::VARCHAR');
    for (const pipeDefinition of [created, recreated]) {
      const again = fakeSdk({ existing: { stageUrl: outputs.SnowflakeStageUrl, pipeDefinition } });
      await expect(applySnowflake(options(again.sdk))).resolves.toMatchObject({ iamUserArn: IAM_USER });
    }
  });

  it("stops before running anything when the stage URL or the pipe's COPY would have to change (neither can in place)", async () => {
    const moved = fakeSdk({ existing: { stageUrl: 's3://dev-landing-1a2b/old-prefix/' } });
    await expect(applySnowflake(options(moved.sdk))).rejects.toThrow(
      /stage LANDING reads s3:\/\/dev-landing-1a2b\/old-prefix\/, the stack's landing prefix is now s3:\/\/dev-landing-1a2b\/events\/.*Nothing was run/,
    );
    const changed = fakeSdk({
      existing: { pipeDefinition: 'COPY INTO SNOWGATE.DEV.RAW_EVENTS FROM @SNOWGATE.DEV.LANDING FILE_FORMAT = (TYPE = JSON)' },
    });
    await expect(applySnowflake(options(changed.sdk))).rejects.toThrow(/pipe RAW_EVENTS_PIPE runs a COPY that no migration/);
    for (const { log } of [moved, changed]) {
      expect(log.statements.every((s) => s.startsWith('SHOW'))).toBe(true);
      expect(log.destroyed).toBe(1);
    }
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
  });

  it("refuses an integration whose external ID is not the stack's, and a failed sign-in, clearly", async () => {
    await expect(applySnowflake(options(fakeSdk({ externalId: 'someone-else' }).sdk))).rejects.toThrow(
      /has external ID someone-else, not snowgate-dev/,
    );
    await expect(applySnowflake(options(fakeSdk({ signInError: 'JWT token is invalid' }).sdk))).rejects.toThrow(
      /Snowflake sign-in failed: JWT token is invalid/,
    );
    // The alert role trusts the storage integration's user: a notification integration publishing as another is refused.
    await expect(applySnowflake(options(fakeSdk({ alertUser: 'arn:aws:iam::999999999999:user/someone-else' }).sdk))).rejects.toThrow(
      /SNOWGATE_DEV_ALERTS publishes as arn:aws:iam::999999999999:user\/someone-else, not the storage integration's/,
    );
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
  });

  it('removes: runs the teardown, then forgets the written values so that the next deploy drops the notification', async () => {
    writeFileSync(join(dir, 'dev.snowflake.json'), JSON.stringify({ iamUserArn: IAM_USER, notificationChannelArn: QUEUE }));
    const { sdk, log } = fakeSdk();
    await removeSnowflake(options(sdk));
    expect(log.statements.map(stripComments)[0]).toBe('USE ROLE ACCOUNTADMIN');
    expect(log.statements.map(stripComments).at(-1)).toBe('DROP ROLE IF EXISTS SNOWGATE_DEV_LOADER');
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
  });
});

describe('settings and inputs', () => {
  it('names every missing or wrong connection setting at once', () => {
    expect(() => connectionSettingsFromEnv({})).toThrow(
      /SNOWFLAKE_ACCOUNT: required[\s\S]*SNOWFLAKE_USER: required[\s\S]*SNOWFLAKE_PRIVATE_KEY_PATH: set exactly one of SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY/,
    );
    expect(() => connectionSettingsFromEnv({ ...settings, SNOWFLAKE_PRIVATE_KEY_PATH: '/nonexistent/key.p8' })).toThrow(/set exactly one/);
    expect(() =>
      connectionSettingsFromEnv({ SNOWFLAKE_ACCOUNT: 'a', SNOWFLAKE_USER: 'u', SNOWFLAKE_PRIVATE_KEY_PATH: '/nonexistent/key.p8' }),
    ).toThrow(/SNOWFLAKE_PRIVATE_KEY_PATH: no such file/);
    expect(() => connectionSettingsFromEnv({ ...settings, SNOWFLAKE_PRIVATE_KEY: 'hunter2' })).toThrow(/a PEM private key/);
    expect(connectionSettingsFromEnv({ ...settings, SNOWFLAKE_PASSWORD: 'ignored', HOME: '/root' })).toEqual(settings);
    // A PEM stored on one line with literal \n (a CI secret) reaches the driver with real line breaks.
    const oneLine = settings.SNOWFLAKE_PRIVATE_KEY.replace(/\n/g, '\\n');
    expect(connectionSettingsFromEnv({ ...settings, SNOWFLAKE_PRIVATE_KEY: oneLine }).SNOWFLAKE_PRIVATE_KEY).toBe(
      settings.SNOWFLAKE_PRIVATE_KEY,
    );
    expect(() =>
      connectionSettingsFromEnv({ ...settings, SNOWFLAKE_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----' }),
    ).toThrow(/a PEM private key/);
  });

  it("reads the stage's outputs from SST's outputs file, and says what to do when they are missing", () => {
    const dir = mkdtempSync(join(tmpdir(), 'snowgate-out-'));
    const file = join(dir, 'outputs.json');
    expect(() => readStackOutputs('dev', file)).toThrow(/deploy the AWS side first \(pnpm sst deploy --stage dev\)/);
    const { AlarmTopic, SnowflakeAlertRoleArn, ...snowflakeStack } = outputs;
    writeFileSync(
      file,
      JSON.stringify({
        'dev-snowgate-Snowflake': { ...snowflakeStack, SnowpipeNotification: 'not yet' },
        'dev-snowgate-Alarms': { AlarmTopic, SnowflakeAlertRoleArn, Dashboard: 'https://…' },
        'prod-snowgate-Snowflake': { SnowflakeRoleArn: 'x' },
      }),
    );
    expect(readStackOutputs('dev', file)).toEqual(outputs);
    expect(() => readStackOutputs('prod', file)).toThrow(
      /prod-snowgate-Snowflake and prod-snowgate-Alarms lack SnowflakeExternalId, SnowflakeStageUrl, AlarmTopic, SnowflakeAlertRoleArn/,
    );
    expect(() => readStackOutputs('qa', file)).toThrow(/no outputs for stage "qa" \(looked for "qa-snowgate-Snowflake"\)/);
    writeFileSync(file, JSON.stringify({ 'dev-2-snowgate-Snowflake': outputs }));
    expect(() => readStackOutputs('dev', file)).toThrow(/no outputs for stage "dev"/); // not another stage's
    rmSync(dir, { recursive: true, force: true });
  });

  it('derives per-stage names, takes overrides from the config, and refuses a stack deployed with another external ID', () => {
    const config = parseStageConfig({
      snowflake: { externalId: 'snowgate-dev', objects: { database: 'ANALYTICS', adminRole: 'SNOWGATE_ADMIN' } },
    });
    expect(snowflakeVariables('dev', config, outputs)).toMatchObject({
      database: 'ANALYTICS',
      schema: 'DEV',
      admin_role: 'SNOWGATE_ADMIN',
      integration: 'SNOWGATE_DEV_S3',
      loader_role: 'SNOWGATE_DEV_LOADER',
    });
    expect(() => snowflakeVariables('dev', config, { ...outputs, SnowflakeExternalId: 'other' })).toThrow(/deploy the config first/);
    expect(() => snowflakeVariables('dev', config, { ...outputs, SnowflakeStageUrl: 's3://bucket/events' })).toThrow(/stage_url/);
  });
});
