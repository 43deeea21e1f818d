/**
 * The Snowflake custom resources through CloudFormation's lifecycle: each request goes through
 * an emulation of the Provider framework (tests/support/cfn-provider.ts) into the handlers
 * (packages/snowflake/src/resource.ts), which read the key from Secrets Manager (faked at the SDK
 * boundary) and talk over HTTP to the strict fake SQL API with an account's catalog behind it.
 * Injected: the clock the client backs off on and the Link waits on, so that nothing is waited.
 */
import { formatKeySecret } from '@snowgate/snowflake-api';
import { migrationChecksums, type SnowflakeVariables } from '@snowgate/snowflake';
import {
  APPLY_DEADLINE_MS,
  asProviderError,
  checkComplete,
  DELETE_DEADLINE_MS,
  handleEvent,
  LINK_RESOURCE_TYPE,
  LINK_VALIDATION_TIMEOUT_MS,
  migrationsFor,
  OBJECTS_RESOURCE_TYPE,
  REASON_MAX_CHARS,
  type ResourceDeps,
  type ResourceEvent,
} from '@snowgate/snowflake/resource';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CFN_RESPONSE_LIMIT,
  type CfnResponse,
  cfnRequest,
  CREATE_FAILED_PHYSICAL_ID_MARKER,
  type ProviderRun,
} from '../support/cfn-provider';
import { type FakeAccount, startFakeSnowflakeAccount } from '../support/fake-snowflake-catalog';
import { fakeSecretsManager } from '../support/secrets-manager';
import { DEV_VARIABLES } from '../support/snowflake-variables';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:snowgate/dev/snowflake-AbCdEf';
const SERVICE_TOKEN = 'arn:aws:lambda:us-east-1:123456789012:function:dev-snowgate-Snowflake-ProviderframeworkonEvent';
const SNOWFLAKE_DIR = join(import.meta.dirname, '../../snowflake');

const variables: SnowflakeVariables = {
  ...DEV_VARIABLES,
  alert_topic_arn: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Alarms-AlarmTopic',
  error_topic_arn: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Snowflake-LoadErrors',
  stage_url: 's3://dev-snowgate-landing/events/',
};

/** Every 24-character run of the key's body: none may appear in anything shown. */
const keyChunks = (pem: string) => {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Array.from({ length: Math.floor(body.length / 24) }, (_, i) => body.slice(i * 24, i * 24 + 24));
};

let account: FakeAccount;
let sqlDir: string;
let logs: string[];
let printed: string[];
let clock: { now: number };
let deps: ResourceDeps;
let runs: ProviderRun[];

const tmp = mkdtempSync(join(tmpdir(), 'snowgate-resource-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeEach(async () => {
  account = await startFakeSnowflakeAccount();
  const secrets = fakeSecretsManager({ [SECRET_ARN]: formatKeySecret({ user: account.user, privateKey: account.privateKey }) });
  sqlDir = mkdtempSync(join(tmp, 'sql-'));
  cpSync(SNOWFLAKE_DIR, sqlDir, { recursive: true });
  logs = [];
  printed = [];
  runs = [];
  clock = { now: Date.now() };
  deps = {
    secrets: secrets.client,
    sqlDir,
    log: (line) => logs.push(line),
    now: () => clock.now,
    // The client's backoff and polls advance the test's clock; tokens are signed on the real one, which the fake checks.
    client: {
      now: () => clock.now,
      sleep: async (ms) => {
        clock.now += ms;
      },
      pollIntervalMs: 1,
    },
  };
  // Whatever anything prints while a request runs is checked for key material too.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      printed.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof stream.write);
  }
});

afterEach(async () => {
  vi.restoreAllMocks();
  // Every answer CloudFormation got fits its 4 KB, and nothing anywhere holds key material.
  for (const run of runs) expect(run.bytes, JSON.stringify(run.response).slice(0, 200)).toBeLessThan(CFN_RESPONSE_LIMIT);
  const shown = [...runs.map((run) => JSON.stringify(run.response)), ...logs, ...printed].join('\n');
  for (const chunk of keyChunks(account.privateKey)) expect(shown.includes(chunk), 'key material shown').toBe(false);
  expect(shown).not.toMatch(/PRIVATE KEY|private_key/);
  await account.fake.close();
});

const objectsProperties = (overrides: Record<string, unknown> = {}) => ({
  ServiceToken: SERVICE_TOKEN,
  Stage: 'dev',
  Production: 'false',
  Account: { identifier: 'myorg-myaccount', url: account.fake.url, secretArn: SECRET_ARN },
  Variables: variables,
  Migrations: migrationChecksums(join(sqlDir, 'migrations')),
  ...overrides,
});

const linkProperties = (overrides: Record<string, unknown> = {}) => ({
  ServiceToken: SERVICE_TOKEN,
  Account: { identifier: 'myorg-myaccount', url: account.fake.url, secretArn: SECRET_ARN },
  Role: 'ACCOUNTADMIN',
  Integration: variables.integration,
  StageUrl: variables.stage_url,
  Pipe: `${variables.database}.${variables.schema}.${variables.pipe}`,
  Mode: 'files',
  Nonce: 'abc123',
  ...overrides,
});

const harness = () => ({
  onEvent: (event: ResourceEvent) => handleEvent(event, deps),
  isComplete: (event: Parameters<typeof checkComplete>[0]) => checkComplete(event, deps),
  wait: (ms: number) => {
    clock.now += ms;
  },
});

async function request(
  RequestType: ResourceEvent['RequestType'],
  ResourceType: string,
  ResourceProperties: Record<string, unknown>,
  extra: Partial<ResourceEvent> = {},
): Promise<CfnResponse & { polls: number }> {
  const run = await cfnRequest(harness(), {
    RequestType,
    ResourceType,
    LogicalResourceId: ResourceType === OBJECTS_RESOURCE_TYPE ? 'SnowflakeObjects' : 'SnowflakeLink',
    ResourceProperties,
    ...extra,
  });
  runs.push(run);
  return { ...run.response, polls: run.polls };
}

const objects = (type: ResourceEvent['RequestType'], properties: Record<string, unknown>, extra: Partial<ResourceEvent> = {}) =>
  request(type, OBJECTS_RESOURCE_TYPE, properties, extra);
const link = (type: ResourceEvent['RequestType'], properties: Record<string, unknown>, extra: Partial<ResourceEvent> = {}) =>
  request(type, LINK_RESOURCE_TYPE, properties, extra);

const PHYSICAL_ID = 'snowflake:myorg-myaccount:SNOWGATE.DEV';
const inSchema = () => [...account.catalog.objects.keys()].filter((name) => name.startsWith('SNOWGATE.DEV.')).sort();
const statementsSince = (from: number) => account.fake.executions.slice(from).map((e) => e.statement);
const historyScripts = () => account.catalog.history('SNOWGATE', 'DEV').map((row) => row.SCRIPT);

/** A new migration in the function's SQL, and its line in the teardown: what the next deploy brings. */
function addMigration(file = 'V1.99.0__deploy_marks.sql') {
  writeFileSync(
    join(sqlDir, 'migrations', file),
    'USE ROLE {{ admin_role }};\n\nCREATE TABLE IF NOT EXISTS {{ database }}.{{ schema }}.DEPLOY_MARKS (ID NUMBER, NOTE VARCHAR);\n',
  );
  appendFileSync(join(sqlDir, 'teardown.sql'), '\nDROP TABLE IF EXISTS {{ database }}.{{ schema }}.DEPLOY_MARKS;\n');
}

describe('Custom::SnowflakeObjects', () => {
  it('Create runs every migration once and answers what the AWS side needs, under 4 KB', async () => {
    const created = await objects('Create', objectsProperties());
    expect(created.Status, created.Reason).toBe('SUCCESS');
    expect(created.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(created.Data).toEqual({
      IamUserArn: account.catalog.iamUserArn,
      StorageExternalId: 'snowgate-dev',
      NotificationChannelArn: account.catalog.queueArn,
      AlertExternalId: account.catalog.integrations.get('SNOWGATE_DEV_ALERTS')!.sfExternalId,
      ErrorExternalId: account.catalog.integrations.get('SNOWGATE_DEV_LOAD_ERRORS')!.sfExternalId,
    });
    expect(created.Data!.AlertExternalId).not.toBe(created.Data!.ErrorExternalId);
    expect(historyScripts()).toEqual(migrationChecksums(join(sqlDir, 'migrations')).map((m) => m.file));
    expect(inSchema()).toEqual(
      expect.arrayContaining([
        'SNOWGATE.DEV.LANDING',
        'SNOWGATE.DEV.RAW_EVENTS',
        'SNOWGATE.DEV.RAW_EVENTS_PIPE',
        'SNOWGATE.DEV.MIGRATION_HISTORY',
      ]),
    );
    expect(account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')!.errorIntegration).toBe('SNOWGATE_DEV_LOAD_ERRORS');
    // The integration is never replaced: its external ID is ours.
    expect(account.fake.executions.map((e) => e.statement).filter((s) => /CREATE OR REPLACE (STORAGE )?INTEGRATION/i.test(s))).toEqual([]);
  });

  it('Update with a new migration runs it, once; an Update with nothing new runs only reads', async () => {
    const before = objectsProperties();
    expect((await objects('Create', before)).Status).toBe('SUCCESS');
    addMigration();
    const after = objectsProperties();
    const from = account.fake.executions.length;
    const updated = await objects('Update', after, { PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: before });
    expect(updated.Status, updated.Reason).toBe('SUCCESS');
    expect(updated.PhysicalResourceId).toBe(PHYSICAL_ID);
    const ran = statementsSince(from);
    expect(ran.filter((s) => /DEPLOY_MARKS/.test(s))).toHaveLength(1);
    expect(ran.filter((s) => !/^(SELECT|DESC|SHOW)\b/i.test(s) && !/MIGRATION_HISTORY/.test(s))).toEqual([
      'CREATE TABLE IF NOT EXISTS SNOWGATE.DEV.DEPLOY_MARKS (ID NUMBER, NOTE VARCHAR)',
    ]);
    expect(historyScripts().filter((s) => s === 'V1.99.0__deploy_marks.sql')).toHaveLength(1);

    // The same properties again (another deploy, a retried request): nothing but reads.
    const again = account.fake.executions.length;
    const unchanged = await objects('Update', after, { PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: after });
    expect(unchanged.Status, unchanged.Reason).toBe('SUCCESS');
    expect(statementsSince(again).filter((s) => !/^(SELECT|DESC|SHOW)\b/i.test(s))).toEqual([]);
    expect(historyScripts().filter((s) => s === 'V1.99.0__deploy_marks.sql')).toHaveLength(1);
  });

  it('a rollback Update (the previous properties, the new code) succeeds and undoes nothing: migrations only go forward', async () => {
    const before = objectsProperties();
    expect((await objects('Create', before)).Status).toBe('SUCCESS');
    addMigration();
    const after = objectsProperties();
    expect((await objects('Update', after, { PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: before })).Status).toBe('SUCCESS');
    const from = account.fake.executions.length;
    const rolledBack = await objects('Update', before, { PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: after });
    expect(rolledBack.Status, rolledBack.Reason).toBe('SUCCESS');
    expect(statementsSince(from).filter((s) => !/^(SELECT|DESC|SHOW)\b/i.test(s))).toEqual([]);
    expect(historyScripts()).toContain('V1.99.0__deploy_marks.sql');
    expect(account.catalog.objects.has('SNOWGATE.DEV.DEPLOY_MARKS')).toBe(true);
    expect(logs.join('\n')).toMatch(/not run .*V1\.99\.0__deploy_marks\.sql/);
  });

  it('Delete of a non-production stage drops everything, RAW_EVENTS and its data included', async () => {
    expect((await objects('Create', objectsProperties())).Status).toBe('SUCCESS');
    const deleted = await objects('Delete', objectsProperties(), { PhysicalResourceId: PHYSICAL_ID });
    expect(deleted.Status, deleted.Reason).toBe('SUCCESS');
    expect(deleted.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(inSchema()).toEqual([]);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
  });

  it('Delete of a production stage keeps RAW_EVENTS and drops the rest', async () => {
    const properties = objectsProperties({ Production: 'true' });
    expect((await objects('Create', properties)).Status).toBe('SUCCESS');
    const deleted = await objects('Delete', properties, { PhysicalResourceId: PHYSICAL_ID });
    expect(deleted.Status, deleted.Reason).toBe('SUCCESS');
    expect(inSchema()).toEqual(['SNOWGATE.DEV.RAW_EVENTS']);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
    expect(logs.join('\n')).toContain('kept SNOWGATE.DEV.RAW_EVENTS and its data');
  });

  it('Delete when Snowflake cannot be reached fails within a minute and says what is left and where to read how to finish', async () => {
    expect((await objects('Create', objectsProperties())).Status).toBe('SUCCESS');
    account.fake.unreachable = true;
    const started = { clock: clock.now, real: Date.now() };
    const deleted = await objects('Delete', objectsProperties(), { PhysicalResourceId: PHYSICAL_ID });
    expect(deleted.Status).toBe('FAILED');
    expect(clock.now - started.clock).toBeLessThanOrEqual(DELETE_DEADLINE_MS);
    expect(Date.now() - started.real).toBeLessThan(10_000);
    expect(deleted.Reason).toContain(`could not remove the Snowflake objects of stage dev (${PHYSICAL_ID}) at ${account.fake.url}`);
    expect(deleted.Reason).toContain('PIPE SNOWGATE.DEV.RAW_EVENTS_PIPE');
    expect(deleted.Reason).toContain('TABLE SNOWGATE.DEV.RAW_EVENTS');
    expect(deleted.Reason).toContain('INTEGRATION SNOWGATE_DEV_S3');
    expect(deleted.Reason).toContain('docs/DEPLOYING.md, "Removing by hand"');
    expect(inSchema()).toContain('SNOWGATE.DEV.RAW_EVENTS_PIPE');
  });

  it('Delete when each statement is slow fails within the one minute, not a minute per statement', async () => {
    expect((await objects('Create', objectsProperties())).Status).toBe('SUCCESS');
    // Each DROP answers 202 twenty times (about 43 s of the client's polling) before it is done, as behind a busy queue.
    account.fake.handlers.unshift({ match: /^DROP /i, result: { columns: [], rows: [] }, slowPolls: 20 });
    const started = clock.now;
    const deleted = await objects('Delete', objectsProperties(), { PhysicalResourceId: PHYSICAL_ID });
    expect(deleted.Status).toBe('FAILED');
    expect(clock.now - started).toBeLessThanOrEqual(DELETE_DEADLINE_MS);
    expect(deleted.Reason).toMatch(
      /statement 3 \(DROP PIPE.* still running at the deadline; cancelled\. Left to drop, in order: PIPE SNOWGATE\.DEV\.RAW_EVENTS_STREAMING_PIPE, ALERT SNOWGATE\.DEV\.LOAD_FRESHNESS_ALERT, VIEW /,
    );
  });

  it('a Create whose statement never finishes stops in time to clean up before the function would time out', async () => {
    account.fake.handlers.unshift({ match: /^CREATE STAGE/i, result: { columns: [], rows: [] }, slowPolls: 1_000_000 });
    const started = clock.now;
    const created = await objects('Create', objectsProperties());
    expect(created.Status).toBe('FAILED');
    expect(clock.now - started).toBeLessThanOrEqual(APPLY_DEADLINE_MS + DELETE_DEADLINE_MS);
    expect(created.Reason).toMatch(/V1\.3\.0__raw_events\.sql, statement \d+ \(CREATE STAGE.* still running at the deadline; cancelled/);
    expect(created.Reason).toContain('Cleaned up');
    expect(inSchema()).toEqual([]);
  });

  it("a Create that fails half-way runs the teardown itself, and the reason carries Snowflake's message, code and SQL state", async () => {
    account.catalog.failOn(/^CREATE PIPE/i, {
      code: '003001',
      sqlState: '42501',
      message: "SQL access control error:\nInsufficient privileges to operate on schema 'DEV'",
    });
    const created = await objects('Create', objectsProperties());
    expect(created.Status).toBe('FAILED');
    expect(created.PhysicalResourceId).toBe(CREATE_FAILED_PHYSICAL_ID_MARKER);
    expect(created.Reason).toContain("Insufficient privileges to operate on schema 'DEV'");
    expect(created.Reason).toMatch(/code 003001, SQL state 42501/);
    expect(created.Reason).toMatch(/V1\.4\.0__pipe\.sql, statement \d+ \(CREATE PIPE/);
    expect(created.Reason).toContain('Cleaned up');
    // What the first migrations made is gone again: the integrations, the table, the stage, the history.
    expect(inSchema()).toEqual([]);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
    // CloudFormation's Delete for the failed Create never reaches the handler.
    const from = account.fake.requests.length;
    const deleted = await objects('Delete', objectsProperties(), { PhysicalResourceId: created.PhysicalResourceId });
    expect(deleted.Status).toBe('SUCCESS');
    expect(account.fake.requests.length).toBe(from);
  });

  it('a Create whose cleanup fails too says what is left to drop', async () => {
    account.catalog.failOn(/^CREATE PIPE/i);
    account.catalog.failOn(/^DROP INTEGRATION IF EXISTS SNOWGATE_DEV_S3$/i);
    const created = await objects('Create', objectsProperties());
    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toContain('The cleanup failed too');
    // What the cleanup dropped before it stopped is not listed; the integration it stopped at and the rest are.
    expect(created.Reason).toMatch(
      /left to drop: INTEGRATION SNOWGATE_DEV_S3, INTEGRATION SNOWGATE_DEV_ALERTS, .*TABLE SNOWGATE\.DEV\.MIGRATION_HISTORY; /,
    );
    expect(created.Reason).not.toContain('PIPE SNOWGATE.DEV.RAW_EVENTS_PIPE');
    expect(created.Reason).toContain('"Removing by hand"');
    expect(account.catalog.integrations.has('SNOWGATE_DEV_S3')).toBe(true);
  });

  it("a failed Update says why in Snowflake's words and tears nothing down (CloudFormation rolls it back)", async () => {
    const before = objectsProperties();
    expect((await objects('Create', before)).Status).toBe('SUCCESS');
    addMigration();
    account.catalog.failOn(/DEPLOY_MARKS/, {
      code: '002003',
      sqlState: '02000',
      message: "SQL compilation error:\nSchema 'SNOWGATE.DEV' does not exist or not authorized.",
    });
    const updated = await objects('Update', objectsProperties(), { PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: before });
    expect(updated.Status).toBe('FAILED');
    expect(updated.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(updated.Reason).toMatch(
      /^Update of the Snowflake objects of stage dev \(snowflake:myorg-myaccount:SNOWGATE\.DEV\) failed: V1\.99\.0__deploy_marks\.sql, statement 2 \(CREATE TABLE IF NOT EXISTS SNOWGATE\.DEV\.DEPLOY_MARKS.*\) failed: SQL compilation error:\nSchema 'SNOWGATE\.DEV' does not exist or not authorized\. \(code 002003, SQL state 02000\)/,
    );
    expect(inSchema()).toContain('SNOWGATE.DEV.RAW_EVENTS_PIPE');
    expect(historyScripts()).not.toContain('V1.99.0__deploy_marks.sql');
  });

  it('refuses to move the objects to another schema of the same account, before anything runs', async () => {
    const before = objectsProperties();
    expect((await objects('Create', before)).Status).toBe('SUCCESS');
    const from = account.fake.requests.length;
    const moved = await objects('Update', objectsProperties({ Variables: { ...variables, schema: 'DEV2' } }), {
      PhysicalResourceId: PHYSICAL_ID,
      OldResourceProperties: before,
    });
    expect(moved.Status).toBe('FAILED');
    expect(moved.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(moved.Reason).toMatch(/^cannot move the Snowflake objects from SNOWGATE\.DEV to SNOWGATE\.DEV2 in the same account: /);
    expect(account.fake.requests.length).toBe(from);
  });

  it('a Snowflake message of any length still fits the 4 KB response', async () => {
    account.catalog.failOn(/^CREATE PIPE/i, {
      code: '001003',
      sqlState: '42000',
      message: `SQL compilation error:\n${'x'.repeat(20_000)}`,
    });
    const created = await objects('Create', objectsProperties());
    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toMatch(/^Create of the Snowflake objects of stage dev .* failed: V1\.4\.0__pipe\.sql/);
    expect(runs.at(-1)!.bytes).toBeLessThan(CFN_RESPONSE_LIMIT);
  });

  it('a secret that cannot be read fails with its name and the reason, and no key material', async () => {
    const secrets = fakeSecretsManager({
      [SECRET_ARN]: JSON.stringify({ user: account.user, private_key: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC' }),
    });
    deps = { ...deps, secrets: secrets.client };
    const created = await objects('Create', objectsProperties());
    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toMatch(/^the Snowflake key secret arn:aws:secretsmanager:.*: cannot read the Snowflake private key/);
    expect(created.Reason).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    secrets.state.failWith = Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    const denied = await objects('Create', objectsProperties());
    expect(denied.Reason).toMatch(/^cannot read the Snowflake key secret .*: AccessDeniedException: User is not authorized/);
    // Nothing reached Snowflake.
    expect(account.fake.requests).toEqual([]);
  });

  it('refuses a Create whose bundled SQL is not what the stack lists', async () => {
    addMigration();
    const created = await objects('Create', objectsProperties({ Migrations: migrationChecksums(join(SNOWFLAKE_DIR, 'migrations')) }));
    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toContain("the function's bundled migrations are not the ones the stack lists (V1.99.0__deploy_marks.sql)");
    expect(account.fake.requests).toEqual([]);
  });
});

describe('Custom::SnowflakeLink', () => {
  it('waits while IAM propagates, then refreshes the pipe once (files mode)', async () => {
    expect((await objects('Create', objectsProperties())).Status).toBe('SUCCESS');
    account.catalog.validationFailures = 3;
    const refreshed = account.catalog.refreshes.length;
    const linked = await link('Create', linkProperties());
    expect(linked.Status, linked.Reason).toBe('SUCCESS');
    expect(linked.polls).toBe(4);
    expect(account.catalog.validations.map((v) => v.status)).toEqual(['failure', 'failure', 'failure', 'success']);
    expect(account.catalog.validations.every((v) => v.integration === 'SNOWGATE_DEV_S3' && v.url === variables.stage_url)).toBe(true);
    expect(account.catalog.refreshes.slice(refreshed)).toEqual([{ pipe: 'SNOWGATE.DEV.RAW_EVENTS_PIPE' }]);
    expect(logs.filter((line) => /not valid yet/.test(line))).toHaveLength(3);
  });

  it('in streaming mode validates but does not refresh the pipe', async () => {
    expect((await objects('Create', objectsProperties())).Status).toBe('SUCCESS');
    const refreshed = account.catalog.refreshes.length;
    const linked = await link('Create', linkProperties({ Mode: 'streaming' }));
    expect(linked.Status, linked.Reason).toBe('SUCCESS');
    expect(account.catalog.validations).toHaveLength(1);
    expect(account.catalog.refreshes.slice(refreshed)).toEqual([]);
  });

  it('gives up with the last answer before the Provider times out', async () => {
    expect((await objects('Create', objectsProperties())).Status).toBe('SUCCESS');
    account.catalog.validationFailures = 10_000;
    const refreshed = account.catalog.refreshes.length;
    const linked = await link('Create', linkProperties());
    expect(linked.Status).toBe('FAILED');
    expect(linked.Reason).not.toBe('Operation timed out');
    expect(linked.Reason).toMatch(
      /^storage integration SNOWGATE_DEV_S3 still cannot use s3:\/\/dev-snowgate-landing\/events\/ after \d+ s: .*Access Denied/,
    );
    expect(linked.polls).toBe(Math.ceil(LINK_VALIDATION_TIMEOUT_MS / 10_000) + 1);
    expect(account.catalog.refreshes.slice(refreshed)).toEqual([]);
  });

  it('Delete does nothing on Snowflake', async () => {
    const from = account.fake.requests.length;
    const deleted = await link('Delete', linkProperties(), {
      PhysicalResourceId: 'snowflake-link:myorg-myaccount:SNOWGATE_DEV_S3:SNOWGATE.DEV.RAW_EVENTS_PIPE',
    });
    expect(deleted.Status).toBe('SUCCESS');
    expect(account.fake.requests.length).toBe(from);
  });
});

describe("a stage through its life, in the stack's order", () => {
  it('deploy, deploy with a new migration, deploy with nothing new, remove', async () => {
    // First deploy: the objects, then (after the roles and the bucket notification) the link.
    const first = objectsProperties();
    expect((await objects('Create', first)).Status).toBe('SUCCESS');
    account.catalog.validationFailures = 2;
    const nonce = (properties: Record<string, unknown>) => JSON.stringify(properties.Migrations);
    const linkId = 'snowflake-link:myorg-myaccount:SNOWGATE_DEV_S3:SNOWGATE.DEV.RAW_EVENTS_PIPE';
    const refreshed = account.catalog.refreshes.length;
    const linked = await link('Create', linkProperties({ Nonce: nonce(first) }));
    expect([linked.Status, linked.PhysicalResourceId]).toEqual(['SUCCESS', linkId]);
    expect(account.catalog.refreshes.length - refreshed).toBe(1);

    // A new migration: the objects' Update runs it, the link's Nonce changes, so it validates and refreshes again.
    addMigration();
    const second = objectsProperties();
    expect((await objects('Update', second, { PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: first })).Status).toBe('SUCCESS');
    const relinked = await link('Update', linkProperties({ Nonce: nonce(second) }), {
      PhysicalResourceId: linkId,
      OldResourceProperties: linkProperties({ Nonce: nonce(first) }),
    });
    expect([relinked.Status, relinked.PhysicalResourceId]).toEqual(['SUCCESS', linkId]);
    expect(account.catalog.refreshes.length - refreshed).toBe(2);
    expect(historyScripts().filter((file) => file === 'V1.99.0__deploy_marks.sql')).toHaveLength(1);

    // Nothing new: CloudFormation sends neither resource anything, so nothing reaches Snowflake. Remove: link first, then the objects.
    expect((await link('Delete', linkProperties({ Nonce: nonce(second) }), { PhysicalResourceId: linkId })).Status).toBe('SUCCESS');
    expect((await objects('Delete', second, { PhysicalResourceId: PHYSICAL_ID })).Status).toBe('SUCCESS');
    expect(inSchema()).toEqual([]);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
  });
});

describe('the pieces', () => {
  it('a provider error is its message only, cut to fit', () => {
    const error = asProviderError(new Error('x'.repeat(5000)));
    expect(error.message).toHaveLength(REASON_MAX_CHARS);
    expect(error.stack).toBe(`ResourceError: ${error.message}`);
  });

  it('an Update whose properties list other SQL than the bundle runs what both agree on; a Create refuses', () => {
    const bundled = [
      { file: 'V1.0.0__a.sql', checksum: 'a', version: '1.0.0', renderedChecksum: 'ra', statements: [] },
      { file: 'R__views.sql', checksum: 'v2', version: undefined, renderedChecksum: 'rv', statements: [] },
    ];
    const listed = [
      { file: 'V1.0.0__a.sql', checksum: 'a' },
      { file: 'R__views.sql', checksum: 'v1' },
    ];
    const lines: string[] = [];
    expect(migrationsFor({ RequestType: 'Update' }, bundled, listed, (l) => lines.push(l)).map((m) => m.file)).toEqual(['V1.0.0__a.sql']);
    expect(lines).toEqual([expect.stringContaining('R__views.sql')]);
    expect(() => migrationsFor({ RequestType: 'Create' }, bundled, listed, () => undefined)).toThrow(/R__views\.sql/);
  });
});
