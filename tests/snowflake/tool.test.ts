import { parseStageConfig } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import {
  applySnowflake,
  connectionSettingsFromEnv,
  connectSqlApi,
  loadMigrations,
  readStackOutputs,
  removeSnowflake,
  snowflakeVariables,
  ssmWiringStore,
  type ToolOptions,
} from '@snowgate/snowflake';
import { formatKeySecret, JwtSource, SqlApiClient } from '@snowgate/snowflake-api';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAccount, startFakeSnowflakeAccount } from '../support/fake-snowflake-catalog';
import { fakeParameterStore } from '../support/parameter-store';
import { fakeSecretsManager } from '../support/secrets-manager';

// The tool over the SQL API client, against the fake SQL API with an account catalog behind it
// (tests/support/fake-snowflake-catalog.ts): statements are accepted only as Snowflake's API takes
// them, and what apply reads back is what its migrations created.

const outputs = {
  SnowflakeRoleArn: 'arn:aws:iam::123456789012:role/dev-snowgate-Snowflake-Role1',
  SnowflakeExternalId: 'snowgate-dev',
  SnowflakeStageUrl: 's3://dev-landing-1a2b/events/',
  AlarmTopic: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Alarms-AlarmTopic1A2B',
  SnowflakeAlertRoleArn: 'arn:aws:iam::123456789012:role/dev-snowgate-Alarms-SnowflakeAlertRole1',
  SnowflakeErrorTopicArn: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Snowflake-LoadErrors1A2B',
};
const settings = {
  SNOWFLAKE_ACCOUNT: 'myorg-myaccount',
  SNOWFLAKE_USER: 'SNOWGATE_DEPLOY',
  SNOWFLAKE_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nMIIE…\n-----END PRIVATE KEY-----',
};

let account: FakeAccount;
beforeEach(async () => {
  account = await startFakeSnowflakeAccount();
});
afterEach(() => account.fake.close());

/** A client signed in as the fake account's user, with a short retry budget. */
const client = (privateKey = account.privateKey) =>
  new SqlApiClient({
    baseUrl: account.fake.url,
    auth: new JwtSource({ account: account.account, user: account.user, privateKey }),
    backoff: { baseMs: 1, maxMs: 5, budgetMs: 200 },
    pollIntervalMs: 1,
  });
const submitted = () =>
  account.fake.requests
    .filter((r) => r.method === 'POST' && r.path === '/api/v2/statements')
    .map((r) => (r.body as { statement: string }).statement);
const changes = () => account.catalog.statements.filter((s) => !/^(SELECT|SHOW|DESC)\b/.test(s.sql));

describe('pnpm snowflake:apply / snowflake:remove', () => {
  let dir: string;
  let printed: string[];
  let store: ReturnType<typeof fakeParameterStore>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-sf-'));
    printed = [];
    store = fakeParameterStore();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const options = (dryRun = false): ToolOptions => {
    const config = loadStageConfig('dev', dir);
    const variables = snowflakeVariables('dev', config, outputs);
    return {
      stage: 'dev',
      config,
      variables,
      configDir: dir,
      wiring: ssmWiringStore(store.ssm),
      dryRun,
      print: (t) => printed.push(t),
      connect: async () => client(),
    };
  };
  const wiring = () => ({
    iamUserArn: account.catalog.iamUserArn,
    notificationChannelArn: account.catalog.queueArn,
    alertExternalId: account.catalog.integrations.get('SNOWGATE_DEV_ALERTS')!.sfExternalId,
    errorExternalId: account.catalog.integrations.get('SNOWGATE_DEV_LOAD_ERRORS')!.sfExternalId,
  });

  it('runs every migration with the variables substituted, reads back what the stack needs, and writes it for the next deploy; again, runs nothing', async () => {
    const written = await applySnowflake(options());
    const statements = submitted();
    expect(statements.slice(0, 3)).toEqual([
      'SELECT SCRIPT, CHECKSUM, RENDERED_CHECKSUM FROM SNOWGATE.DEV.MIGRATION_HISTORY ORDER BY INSTALLED_ON, SCRIPT',
      "SHOW STAGES LIKE 'LANDING' IN SCHEMA SNOWGATE.DEV",
      "SHOW PIPES LIKE 'RAW_EVENTS_PIPE' IN SCHEMA SNOWGATE.DEV",
    ]);
    expect(statements.slice(-4)).toEqual([
      'DESC INTEGRATION SNOWGATE_DEV_S3',
      "SHOW PIPES LIKE 'RAW_EVENTS_PIPE' IN SCHEMA SNOWGATE.DEV",
      'DESC NOTIFICATION INTEGRATION SNOWGATE_DEV_ALERTS',
      'DESC NOTIFICATION INTEGRATION SNOWGATE_DEV_LOAD_ERRORS',
    ]);
    const all = statements.join('\n');
    expect(all).not.toContain('{{');
    expect(account.catalog.integrations.get('SNOWGATE_DEV_S3')!.options).toMatchObject({
      STORAGE_AWS_ROLE_ARN: outputs.SnowflakeRoleArn,
      STORAGE_AWS_EXTERNAL_ID: 'snowgate-dev',
      STORAGE_ALLOWED_LOCATIONS: outputs.SnowflakeStageUrl,
    });
    expect(account.catalog.objects.get('SNOWGATE.DEV.LANDING')).toMatchObject({ url: outputs.SnowflakeStageUrl });
    expect(account.catalog.integrations.get('SNOWGATE_DEV_ALERTS')!.options).toMatchObject({
      AWS_SNS_TOPIC_ARN: outputs.AlarmTopic,
      AWS_SNS_ROLE_ARN: outputs.SnowflakeAlertRoleArn,
    });
    expect(account.catalog.integrations.get('SNOWGATE_DEV_LOAD_ERRORS')!.options).toMatchObject({
      AWS_SNS_TOPIC_ARN: outputs.SnowflakeErrorTopicArn,
      AWS_SNS_ROLE_ARN: outputs.SnowflakeAlertRoleArn,
    });
    expect(account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')).toMatchObject({ errorIntegration: 'SNOWGATE_DEV_LOAD_ERRORS' });

    expect(written).toEqual(wiring());
    expect(JSON.parse(readFileSync(join(dir, 'dev.snowflake.json'), 'utf8'))).toEqual(written);
    // …and in Parameter Store, where a deploy from any clone finds them.
    expect(JSON.parse(store.parameters.get('/snowgate/dev/snowflake/wiring')!)).toEqual(written);
    await expect(ssmWiringStore(store.ssm).read('dev')).resolves.toEqual(written);
    // …where the stack picks them up.
    expect(loadStageConfig('dev', dir).snowflake).toMatchObject({ ...wiring(), externalId: 'snowgate-dev' });
    expect(printed.join('\n')).toMatch(/applied 10 migrations[\s\S]*next: pnpm sst deploy --stage dev/);

    // Applied again: nothing runs, the same is read back and written.
    const before = changes().length;
    printed.length = 0;
    await expect(applySnowflake(options())).resolves.toEqual(written);
    expect(changes()).toHaveLength(before);
    expect(printed[0]).toBe('nothing to apply: all 10 migrations already applied');
  });

  it('on --dry-run prints the rendered SQL and runs nothing: no connection, no settings needed, nothing written', async () => {
    await applySnowflake({ ...options(true), connect: () => Promise.reject(new Error('must not connect')) });
    expect(account.fake.requests).toEqual([]);
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
    expect(store.parameters.size).toBe(0);
    const text = printed.join('\n');
    expect(text).toContain('-- V1.0.0__context.sql');
    expect(text).toContain('-- V1.7.0__load_error_notifications.sql');
    expect(text).toContain('-- R__views.sql');
    expect(text).toContain(`STORAGE_AWS_EXTERNAL_ID = 'snowgate-dev'`);
    expect(text).not.toContain('{{');

    await removeSnowflake({ ...options(true), connect: () => Promise.reject(new Error('must not connect')) });
    expect(printed.join('\n')).toContain('DROP PIPE IF EXISTS SNOWGATE.DEV.RAW_EVENTS_PIPE;');
  });

  it('fails loudly when Parameter Store cannot be written (a deploy elsewhere would not find the wiring), naming what to do', async () => {
    store.state.failWith = Object.assign(new Error('User is not authorized to perform: ssm:PutParameter'), {
      name: 'AccessDeniedException',
    });
    await expect(applySnowflake(options())).rejects.toThrow(
      /could not store the wiring in \/snowgate\/dev\/snowflake\/wiring \(User is not authorized to perform: ssm:PutParameter\).*apply again \(it is idempotent\), or commit config\/dev\.snowflake\.json/,
    );
  });

  it("stops at the first failing statement, naming the file and statement with Snowflake's message, code and SQL state; writes nothing", async () => {
    account.catalog.failOn(/^CREATE STORAGE INTEGRATION/);
    await expect(applySnowflake(options())).rejects.toThrow(
      /V1\.2\.0__storage_integration\.sql, statement 2 \(CREATE STORAGE INTEGRATION IF NOT EXISTS SNOWGATE_DEV_S3…\) failed: SQL access control error:\nInsufficient privileges to operate on account\. \(code 003001, SQL state 42501\)/,
    );
    expect(submitted().at(-1)).toMatch(/^CREATE STORAGE INTEGRATION/);
    expect(account.catalog.history('SNOWGATE', 'DEV').map((r) => r.SCRIPT)).toEqual(['V1.0.0__context.sql', 'V1.1.0__roles.sql']);
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
    // Fixed, apply goes on from the failed migration.
    printed.length = 0;
    await applySnowflake(options());
    expect(printed[0]).toBe('V1.2.0__storage_integration.sql: 3 statements');
  });

  it('reapplies over a stage the earlier tool made (no history; its pipe from V1.4.0 or V1.5.0)', async () => {
    await applySnowflake(options());
    const migrations = loadMigrations(options().variables);
    const copyOf = (file: string, start: RegExp) => {
      const statement = migrations.find((m) => m.file === file)!.statements.find((s) => start.test(s))!;
      return statement
        .slice(statement.search(/\bAS\s+COPY\b/) + 3)
        .split(/;\s*(?:EXECUTE|$)/)[0]!
        .replace(/\s+/g, ' ');
    };
    for (const definition of [
      copyOf('V1.4.0__pipe.sql', /CREATE PIPE/),
      account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')!.definition!,
    ]) {
      account.catalog.objects.delete('SNOWGATE.DEV.MIGRATION_HISTORY');
      account.catalog.rows.clear();
      account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')!.definition = definition;
      await expect(applySnowflake(options())).resolves.toEqual(wiring());
      expect(account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')!.definition).toContain('$1:producer::VARCHAR');
    }
  });

  it("stops before running anything when the stage URL or the pipe's COPY would have to change (neither can in place)", async () => {
    await applySnowflake(options());
    const before = changes().length;
    // Checked when something is to run: here, a stage whose history is gone (applied by the earlier tool).
    account.catalog.objects.delete('SNOWGATE.DEV.MIGRATION_HISTORY');
    account.catalog.rows.clear();
    account.catalog.objects.get('SNOWGATE.DEV.LANDING')!.url = 's3://dev-landing-1a2b/old-prefix/';
    await expect(applySnowflake(options())).rejects.toThrow(
      /stage LANDING reads s3:\/\/dev-landing-1a2b\/old-prefix\/, the stack's landing prefix is now s3:\/\/dev-landing-1a2b\/events\/.*Nothing was run/,
    );
    account.catalog.objects.get('SNOWGATE.DEV.LANDING')!.url = outputs.SnowflakeStageUrl;
    account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')!.definition =
      'COPY INTO SNOWGATE.DEV.RAW_EVENTS FROM @SNOWGATE.DEV.LANDING FILE_FORMAT = (TYPE = JSON)';
    await expect(applySnowflake(options())).rejects.toThrow(/pipe RAW_EVENTS_PIPE runs a COPY that no migration/);
    expect(changes()).toHaveLength(before);
  });

  it("refuses an integration whose external ID is not the stack's, a notification integration publishing as another user, and a key Snowflake does not know", async () => {
    await applySnowflake(options());
    rmSync(join(dir, 'dev.snowflake.json'));
    account.catalog.integrations.get('SNOWGATE_DEV_S3')!.options.STORAGE_AWS_EXTERNAL_ID = 'someone-else';
    await expect(applySnowflake(options())).rejects.toThrow(/has external ID someone-else, not snowgate-dev/);
    account.catalog.integrations.get('SNOWGATE_DEV_S3')!.options.STORAGE_AWS_EXTERNAL_ID = 'snowgate-dev';
    // The alert role trusts the storage integration's user: a notification integration publishing as another is refused.
    account.catalog.integrations.get('SNOWGATE_DEV_LOAD_ERRORS')!.sfIamUserArn = 'arn:aws:iam::999999999999:user/someone-else';
    await expect(applySnowflake(options())).rejects.toThrow(
      /SNOWGATE_DEV_LOAD_ERRORS publishes as arn:aws:iam::999999999999:user\/someone-else, not the storage integration's/,
    );
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(applySnowflake({ ...options(), connect: async () => client(stranger) })).rejects.toThrow(
      /HTTP 401: JWT token is invalid\. \(a new token was refused too: check the account, the user and its RSA_PUBLIC_KEY\)/,
    );
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
  });

  it('removes: runs the teardown, then forgets the written values so that the next deploy drops the notification', async () => {
    await applySnowflake(options());
    expect(store.parameters.size).toBe(1);
    await removeSnowflake(options());
    expect(store.parameters.size).toBe(0);
    expect(existsSync(join(dir, 'dev.snowflake.json'))).toBe(false);
    expect([...account.catalog.objects.keys()]).toEqual([]);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
    expect(submitted().at(-1)).toBe('DROP TABLE IF EXISTS SNOWGATE.DEV.MIGRATION_HISTORY');
  });

  it('stopped part way, says what is left to drop and keeps the wiring, to remove again', async () => {
    await applySnowflake(options());
    account.catalog.failOn(/^DROP ROLE/);
    await expect(removeSnowflake(options())).rejects.toThrow(
      /teardown\.sql, statement \d+ \(DROP ROLE IF EXISTS SNOWGATE_DEV_READER…\) failed: .*\. Left to drop, in order: ROLE SNOWGATE_DEV_READER, ROLE SNOWGATE_DEV_LOADER, TABLE SNOWGATE\.DEV\.MIGRATION_HISTORY\. The wiring is kept/s,
    );
    expect(store.parameters.size).toBe(1);
    await removeSnowflake(options());
    expect(store.parameters.size).toBe(0);
  });
});

describe('pnpm snowflake:remove on a production stage', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-sf-prod-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps RAW_EVENTS and its data (as the buckets are kept), drops the rest, and says so; other stages drop it', async () => {
    writeFileSync(
      join(dir, 'prod.json'),
      JSON.stringify({ production: true, snowflake: { externalId: 'prod-external-id-123' }, alarms: { email: 'oncall@example.com' } }),
    );
    const config = loadStageConfig('prod', dir);
    const variables = snowflakeVariables('prod', config, { ...outputs, SnowflakeExternalId: 'prod-external-id-123' });
    const printed: string[] = [];
    const prodOptions: ToolOptions = {
      stage: 'prod',
      config,
      variables,
      configDir: dir,
      wiring: ssmWiringStore(fakeParameterStore().ssm),
      dryRun: false,
      print: (t) => printed.push(t),
      connect: async () => client(),
    };
    await applySnowflake(prodOptions);
    await removeSnowflake(prodOptions);
    expect([...account.catalog.objects.keys()]).toEqual(['SNOWGATE.PROD.RAW_EVENTS']);
    expect(account.catalog.integrations.has('SNOWGATE_PROD_S3')).toBe(false);
    expect(submitted().filter((s) => /^DROP TABLE/.test(s))).toEqual(['DROP TABLE IF EXISTS SNOWGATE.PROD.MIGRATION_HISTORY']);
    expect(printed.join('\n')).toMatch(/kept SNOWGATE\.PROD\.RAW_EVENTS and its data: "prod" is a production stage/);

    // The dry run shows the same: no DROP of RAW_EVENTS, and the note.
    printed.length = 0;
    await removeSnowflake({ ...prodOptions, dryRun: true });
    expect(printed.join('\n')).not.toContain('DROP TABLE IF EXISTS SNOWGATE.PROD.RAW_EVENTS;');
    expect(printed.join('\n')).toContain('-- kept SNOWGATE.PROD.RAW_EVENTS');

    // A non-production stage drops it.
    const dev = parseStageConfig({ snowflake: { externalId: 'snowgate-dev' } });
    const devOptions = { ...prodOptions, stage: 'dev', config: dev, variables: snowflakeVariables('dev', dev, outputs) };
    await applySnowflake(devOptions);
    expect(account.catalog.objects.has('SNOWGATE.DEV.RAW_EVENTS')).toBe(true);
    await removeSnowflake(devOptions);
    expect(account.catalog.objects.has('SNOWGATE.DEV.RAW_EVENTS')).toBe(false);
  });
});

describe('the SQL API client for a stage', () => {
  it("signs in as the user in the stage's secret, at snowflake.account.url, when the config names an account", async () => {
    const config = parseStageConfig({
      snowflake: {
        externalId: 'snowgate-dev',
        account: { identifier: 'myorg-myaccount', secretName: 'snowgate/dev/snowflake', url: account.fake.url },
      },
    });
    const secrets = fakeSecretsManager({
      'snowgate/dev/snowflake': formatKeySecret({ user: account.user, privateKey: account.privateKey }),
    });
    const { sql, from } = await connectSqlApi(config, { secretsManager: () => secrets.client });
    expect(from).toBe('SNOWGATE_DEPLOY of myorg-myaccount, key from secret snowgate/dev/snowflake');
    await expect(sql.execute('CREATE DATABASE IF NOT EXISTS SNOWGATE')).resolves.toMatchObject({
      rows: [{ status: 'Statement executed successfully.' }],
    });

    const missing = fakeSecretsManager();
    await expect(connectSqlApi(config, { secretsManager: () => missing.client })).rejects.toThrow(
      /no secret snowgate\/dev\/snowflake: store the key first \(pnpm snowflake:secret --stage <stage> --key-file <key\.p8>\)/,
    );
  });

  it('else signs in as SNOWFLAKE_USER of SNOWFLAKE_ACCOUNT with the key from the environment, at the account URL', async () => {
    const config = parseStageConfig({ snowflake: { externalId: 'snowgate-dev' } });
    const env = { SNOWFLAKE_ACCOUNT: 'myorg-myaccount', SNOWFLAKE_USER: 'SNOWGATE_DEPLOY', SNOWFLAKE_PRIVATE_KEY: account.privateKey };
    const seen: string[] = [];
    const { from } = await connectSqlApi(config, { env });
    expect(from).toBe('SNOWGATE_DEPLOY of myorg-myaccount, key from the environment');
    const { sql } = await connectSqlApi(config, {
      env,
      client: {
        fetch: async (url) => {
          seen.push(String(url));
          return fetch(`${account.fake.url}${new URL(String(url)).pathname}${new URL(String(url)).search}`);
        },
      },
    });
    await expect(sql.execute('CREATE DATABASE IF NOT EXISTS SNOWGATE')).rejects.toThrow();
    expect(seen[0]).toMatch(/^https:\/\/myorg-myaccount\.snowflakecomputing\.com\/api\/v2\/statements\?requestId=/);
    await expect(connectSqlApi(config, { env: {} })).rejects.toThrow(/SNOWFLAKE_ACCOUNT: required/);
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
    // A PEM stored on one line with literal \n (a CI secret) reaches the client with real line breaks.
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
      /prod-snowgate-Snowflake and prod-snowgate-Alarms lack SnowflakeExternalId, SnowflakeStageUrl, AlarmTopic, SnowflakeAlertRoleArn, SnowflakeErrorTopicArn/,
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
      error_integration: 'SNOWGATE_DEV_LOAD_ERRORS',
      error_topic_arn: outputs.SnowflakeErrorTopicArn,
    });
    expect(() => snowflakeVariables('dev', config, { ...outputs, SnowflakeExternalId: 'other' })).toThrow(/deploy the config first/);
    expect(() => snowflakeVariables('dev', config, { ...outputs, SnowflakeStageUrl: 's3://bucket/events' })).toThrow(/stage_url/);
  });
});
