import { parseStageConfig } from '@snowgate/config';
import { JwtSource, SqlApiClient } from '@snowgate/snowflake-api';
import {
  applyMigrations,
  applyUse,
  HISTORY_TABLE,
  leftToDrop,
  loadMigrations,
  migrationChecksums,
  readBack,
  runTeardown,
  ScriptError,
  SNOWFLAKE_DIR,
  type SnowflakeVariables,
  statementRequestId,
} from '@snowgate/snowflake';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAccount, startFakeSnowflakeAccount } from '../support/fake-snowflake-catalog';
import { DEV_VARIABLES } from '../support/snowflake-variables';

// The migration runner over the real SQL API client, against the fake SQL API with an account
// catalog behind it: what the runner sends is accepted only if Snowflake's API would take it
// (no bare USE, context in the request), and what it created is what is read back.

const variables: SnowflakeVariables = DEV_VARIABLES;

let account: FakeAccount;
let sql: SqlApiClient;
beforeEach(async () => {
  account = await startFakeSnowflakeAccount();
  sql = new SqlApiClient({
    baseUrl: account.fake.url,
    auth: new JwtSource({ account: account.account, user: account.user, privateKey: account.privateKey }),
    backoff: { baseMs: 1, maxMs: 5, budgetMs: 200 },
    pollIntervalMs: 1,
  });
});
afterEach(() => account.fake.close());

const submitted = () => account.fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/statements');
const ran = (pattern: RegExp) => account.catalog.statements.filter((s) => pattern.test(s.sql));

describe('applyMigrations', () => {
  it('runs every migration once on a new stage, USE as request context, and records each in the history', async () => {
    const result = await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    const files = loadMigrations(variables).map((m) => m.file);
    expect(result).toEqual({ applied: files, skipped: [] });
    expect(files).toContain('V1.7.0__load_error_notifications.sql');

    // No request is a bare USE (the API refuses them); the pipe was created as the loader, its
    // secondary roles off (a two-statement request), everything else as the admin role.
    for (const { body } of submitted()) {
      const { statement, parameters } = body as { statement: string; parameters?: { MULTI_STATEMENT_COUNT?: string } };
      if (/^USE\b/.test(statement)) expect(parameters?.MULTI_STATEMENT_COUNT).toBe('2');
    }
    expect(submitted().filter((r) => /^USE\b/.test((r.body as { statement: string }).statement))).toHaveLength(3); // V1.4.0's, V1.5.0's and V1.8.0's
    const pipe = account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS_PIPE')!;
    expect(pipe).toMatchObject({ owner: 'SNOWGATE_DEV_LOADER', secondaryRoles: 'NONE', errorIntegration: 'SNOWGATE_DEV_LOAD_ERRORS' });
    expect(pipe.definition).toContain('$1:producer::VARCHAR'); // V1.5.0's block recreated it
    expect(account.catalog.objects.get('SNOWGATE.DEV.RAW_EVENTS')).toMatchObject({ owner: 'ACCOUNTADMIN' });
    expect(ran(/^CREATE DATABASE/)[0]!.context).toMatchObject({ role: 'ACCOUNTADMIN' });
    expect(ran(/CREATE OR REPLACE VIEW SNOWGATE\.DEV\.RAW_EVENTS_LATEST/)[0]!.context).toMatchObject({
      role: 'ACCOUNTADMIN',
      database: 'SNOWGATE',
      schema: 'DEV',
    });
    expect(account.catalog.integrations.get('SNOWGATE_DEV_LOAD_ERRORS')!.options).toMatchObject({
      AWS_SNS_TOPIC_ARN: variables.error_topic_arn,
      AWS_SNS_ROLE_ARN: variables.alert_role_arn,
      DIRECTION: 'OUTBOUND',
    });

    const checksums = migrationChecksums();
    expect(account.catalog.history('SNOWGATE', 'DEV').map((r) => [r.SCRIPT, r.CHECKSUM, r.SCRIPT_TYPE])).toEqual(
      checksums.map(({ file, checksum }) => [file, checksum, file.startsWith('R__') ? 'R' : 'V']),
    );
    expect(account.catalog.history('SNOWGATE', 'DEV')[0]).toMatchObject({ VERSION: '1.0.0' });

    // What the AWS side needs, read back from what was created.
    await expect(readBack(sql, variables)).resolves.toEqual({
      iamUserArn: account.catalog.iamUserArn,
      storageExternalId: 'snowgate-dev',
      notificationChannelArn: account.catalog.queueArn,
      alertExternalId: account.catalog.integrations.get('SNOWGATE_DEV_ALERTS')!.sfExternalId,
      errorExternalId: account.catalog.integrations.get('SNOWGATE_DEV_LOAD_ERRORS')!.sfExternalId,
    });
  });

  it('runs nothing on a stage that has every migration: one read of the history', async () => {
    await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    const before = submitted().length;
    const result = await applyMigrations(sql, variables, { requestIdPrefix: 'run-2' });
    expect(result.applied).toEqual([]);
    expect(result.skipped).toHaveLength(loadMigrations(variables).length);
    const sent = submitted().slice(before);
    expect(sent.map((r) => (r.body as { statement: string }).statement)).toEqual([
      `SELECT SCRIPT, CHECKSUM, RENDERED_CHECKSUM FROM SNOWGATE.DEV.${HISTORY_TABLE} ORDER BY INSTALLED_ON, SCRIPT`,
    ]);
  });

  describe('with migrations of its own', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'snowgate-migrations-'));
      cpSync(join(SNOWFLAKE_DIR, 'migrations'), dir, { recursive: true });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('applies a new migration once; refuses an applied one edited, naming it, before running anything', async () => {
      await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
      writeFileSync(
        join(dir, 'V1.9.0__more.sql'),
        'USE ROLE {{ admin_role }};\n\nALTER ALERT {{ database }}.{{ schema }}.{{ alert }} RESUME;\n',
      );
      const next = await applyMigrations(sql, variables, { requestIdPrefix: 'run-2', migrations: loadMigrations(variables, dir) });
      expect(next.applied).toEqual(['V1.9.0__more.sql']);
      const again = await applyMigrations(sql, variables, { requestIdPrefix: 'run-3', migrations: loadMigrations(variables, dir) });
      expect(again.applied).toEqual([]);
      expect(ran(/^ALTER ALERT .* RESUME$/)).toHaveLength(2); // V1.6.0's and V1.9.0's, once each

      const changes = () => account.catalog.statements.filter((s) => !/^SELECT\b/.test(s.sql)).length;
      const before = changes();
      writeFileSync(
        join(dir, 'V1.9.0__more.sql'),
        'USE ROLE {{ admin_role }};\n\nALTER ALERT {{ database }}.{{ schema }}.{{ alert }} SUSPEND;\n',
      );
      await expect(
        applyMigrations(sql, variables, { requestIdPrefix: 'run-4', migrations: loadMigrations(variables, dir) }),
      ).rejects.toThrow(
        /V1\.9\.0__more\.sql changed after it was applied .*put the change in a new V<version>__<name>\.sql\. Nothing was run\./,
      );
      expect(changes()).toBe(before);
    });

    it('runs a repeatable migration again when it changes, and a versioned one again when a setting it renders changes', async () => {
      await applyMigrations(sql, variables, { requestIdPrefix: 'run-1', migrations: loadMigrations(variables, dir) });
      const views = readFileSync(join(dir, 'R__views.sql'), 'utf8');
      writeFileSync(join(dir, 'R__views.sql'), `${views}\n-- one more line\n`);
      const changed = await applyMigrations(sql, variables, { requestIdPrefix: 'run-2', migrations: loadMigrations(variables, dir) });
      expect(changed.applied).toEqual(['R__views.sql']);
      // alarms.loadFreshnessMinutes renders into V1.6.0 only: that file runs again, the others stay.
      const later = { ...variables, freshness_minutes: '30' };
      const reset = await applyMigrations(sql, later, { requestIdPrefix: 'run-3', migrations: loadMigrations(later, dir) });
      expect(reset.applied).toEqual(['V1.6.0__freshness_alert.sql']);
      expect(ran(/CREATE OR REPLACE ALERT/).at(-1)!.sql).toContain("DATEADD('minute', -30, CURRENT_TIMESTAMP())");
    });
  });

  it('refuses a new landing prefix before running anything: the stage cannot move in place, and the integration would follow it', async () => {
    await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    const changes = () => account.catalog.statements.filter((s) => !/^(SELECT|SHOW)\b/.test(s.sql)).length;
    const before = changes();
    const moved = { ...variables, stage_url: 's3://dev-landing-1a2b/elsewhere/' };
    await expect(applyMigrations(sql, moved, { requestIdPrefix: 'run-2' })).rejects.toThrow(
      /stage LANDING reads s3:\/\/dev-landing-1a2b\/events\/, the stack's landing prefix is now s3:\/\/dev-landing-1a2b\/elsewhere\/.*Nothing was run\./,
    );
    expect(changes()).toBe(before);
    expect(account.catalog.integrations.get('SNOWGATE_DEV_S3')!.options.STORAGE_ALLOWED_LOCATIONS).toBe(variables.stage_url);
  });

  it('runs every migration once on a stage applied before the history existed (they are idempotent), and records them', async () => {
    await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    account.catalog.objects.delete(`SNOWGATE.DEV.${HISTORY_TABLE}`);
    account.catalog.rows.clear();
    const result = await applyMigrations(sql, variables, { requestIdPrefix: 'run-2' });
    expect(result.applied).toHaveLength(loadMigrations(variables).length);
    expect(account.catalog.history('SNOWGATE', 'DEV')).toHaveLength(loadMigrations(variables).length);
    expect(ran(/^CREATE PIPE IF NOT EXISTS/)).toHaveLength(4); // both pipes, on each run: they were there, nothing recreated them
    expect(account.catalog.refreshes).toHaveLength(1); // V1.5.0's block saw the new COPY and did nothing
  });

  it('never runs a statement twice under one prefix: a lost answer or a rerun is answered, not run again', async () => {
    // The first statement's answer is lost after it ran; the client resends with the same requestId.
    const losing = {
      execute: (statement: string, options?: Parameters<SqlApiClient['execute']>[1]) => {
        if (/^CREATE DATABASE/.test(statement)) account.fake.failNext({ afterExecute: true, reset: true });
        return sql.execute(statement, options);
      },
    };
    account.catalog.failOn(/^CREATE STAGE/);
    await expect(applyMigrations(losing, variables, { requestIdPrefix: 'run-1' })).rejects.toThrow(
      /V1\.3\.0__raw_events\.sql, statement 4 \(CREATE STAGE IF NOT EXISTS SNOWGATE\.DEV\.LANDING…\) failed: SQL access control error:\nInsufficient privileges to operate on account\. \(code 003001, SQL state 42501\)/,
    );
    const createDatabase = submitted().filter((r) => /^CREATE DATABASE/.test((r.body as { statement: string }).statement));
    expect(createDatabase).toHaveLength(2); // sent, answer lost, sent again…
    expect(new Set(createDatabase.map((r) => r.query.requestId)).size).toBe(1);
    expect(createDatabase.every((r) => r.query.retry === 'true')).toBe(true);
    expect(ran(/^CREATE DATABASE/)).toHaveLength(1); // …and run once
    // A rerun under the same prefix (a Lambda retried): V1.3.0's first statements are answered from their first run.
    const result = await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    expect(result.applied[0]).toBe('V1.3.0__raw_events.sql');
    expect(ran(/^CREATE FILE FORMAT/)).toHaveLength(1);
    expect(ran(/^CREATE STAGE/)).toHaveLength(1);
    const ids = submitted().map((r) => r.query.requestId);
    expect(ids).toContain(statementRequestId('run-1', 'V1.3.0__raw_events.sql', loadMigrations(variables)[3]!.renderedChecksum, 2));
    expect(
      submitted()
        .filter((r) => r.query.requestId === ids.at(-1))
        .every((r) => r.query.retry === 'true'),
    ).toBe(true);
  });

  it('turns USE into the context of the statements after it, and refuses a USE it cannot send', () => {
    let context = applyUse('USE ROLE SNOWGATE_DEV_LOADER', {})!;
    context = applyUse('-- only its own grants\nUSE SECONDARY ROLES NONE', context)!;
    context = applyUse('USE SCHEMA SNOWGATE.DEV', context)!;
    context = applyUse('USE WAREHOUSE SNOWGATE_WH', context)!;
    expect(context).toEqual({
      role: 'SNOWGATE_DEV_LOADER',
      secondaryRolesNone: true,
      database: 'SNOWGATE',
      schema: 'DEV',
      warehouse: 'SNOWGATE_WH',
    });
    expect(applyUse('USE ROLE ACCOUNTADMIN', context)).toMatchObject({ role: 'ACCOUNTADMIN', secondaryRolesNone: false });
    expect(applyUse('USE DATABASE OTHER', context)).toMatchObject({ database: 'OTHER', schema: undefined });
    expect(applyUse('CREATE DATABASE IF NOT EXISTS SNOWGATE', context)).toBeUndefined();
    expect(() => applyUse("USE SECONDARY ROLES ('R1')", context)).toThrow(/cannot send .* through the SQL API/);
  });

  it('derives request IDs as UUIDs, the same for the same statement and different for any other', () => {
    const id = statementRequestId('p', 'V1.0.0__context.sql', 'abc', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(statementRequestId('p', 'V1.0.0__context.sql', 'abc', 0)).toBe(id);
    for (const other of [
      statementRequestId('q', 'V1.0.0__context.sql', 'abc', 0),
      statementRequestId('p', 'V1.1.0__roles.sql', 'abc', 0),
      statementRequestId('p', 'V1.0.0__context.sql', 'abd', 0),
      statementRequestId('p', 'V1.0.0__context.sql', 'abc', 1),
    ])
      expect(other).not.toBe(id);
  });
});

describe('runTeardown', () => {
  it('drops what the migrations made, the history last; the next apply runs everything again', async () => {
    await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    const config = parseStageConfig({ snowflake: { externalId: 'snowgate-dev' } });
    await expect(runTeardown(sql, { config, variables }, { requestIdPrefix: 'remove-1' })).resolves.toEqual({});
    expect([...account.catalog.objects.keys()]).toEqual([]);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
    expect(account.catalog.roles.has('SNOWGATE_DEV_LOADER')).toBe(false);
    expect(account.catalog.schemas.has('SNOWGATE.DEV')).toBe(true); // kept: it may hold other things
    // Twice is harmless (IF EXISTS), as a retried Delete must be.
    await runTeardown(sql, { config, variables }, { requestIdPrefix: 'remove-2' });
    const again = await applyMigrations(sql, variables, { requestIdPrefix: 'run-2' });
    expect(again.applied).toHaveLength(loadMigrations(variables).length);
  });

  it('stopped part way (a refused drop, Snowflake unreachable), says which statements were not run, in order; run again, finishes', async () => {
    await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    const config = parseStageConfig({ snowflake: { externalId: 'snowgate-dev' } });
    account.catalog.failOn(/^DROP INTEGRATION IF EXISTS SNOWGATE_DEV_ALERTS$/);
    const error = await runTeardown(sql, { config, variables }, { requestIdPrefix: 'remove-1' }).catch((e: ScriptError) => e);
    expect(error).toBeInstanceOf(ScriptError);
    expect((error as ScriptError).message).toMatch(
      /^teardown\.sql, statement \d+ \(DROP INTEGRATION IF EXISTS SNOWGATE_DEV_ALERTS…\) failed: SQL access control error:\nInsufficient privileges to operate on account\. \(code 003001, SQL state 42501\)$/,
    );
    expect(leftToDrop((error as ScriptError).notRun)).toEqual([
      'INTEGRATION SNOWGATE_DEV_ALERTS',
      'INTEGRATION SNOWGATE_DEV_LOAD_ERRORS',
      'ROLE SNOWGATE_DEV_READER',
      'ROLE SNOWGATE_DEV_LOADER',
      'TABLE SNOWGATE.DEV.MIGRATION_HISTORY',
    ]);
    expect(account.catalog.objects.has('SNOWGATE.DEV.RAW_EVENTS_PIPE')).toBe(false);

    account.fake.unreachable = true;
    const unreachable = await runTeardown(sql, { config, variables }, { requestIdPrefix: 'remove-2' }).catch((e: ScriptError) => e);
    expect((unreachable as ScriptError).message).toMatch(/failed: POST \/api\/v2\/statements: no answer /);
    expect(leftToDrop((unreachable as ScriptError).notRun)[0]).toBe('PIPE SNOWGATE.DEV.RAW_EVENTS_PIPE');
    account.fake.unreachable = false;
    await runTeardown(sql, { config, variables }, { requestIdPrefix: 'remove-3' });
    expect([...account.catalog.integrations.keys()]).toEqual([]);
  });

  it('keeps RAW_EVENTS on a production stage, and says so', async () => {
    await applyMigrations(sql, variables, { requestIdPrefix: 'run-1' });
    const config = parseStageConfig({
      production: true,
      snowflake: { externalId: 'snowgate-dev' },
      alarms: { email: 'oncall@example.com' },
    });
    await expect(runTeardown(sql, { config, variables }, { requestIdPrefix: 'remove-1' })).resolves.toEqual({
      keptTable: 'SNOWGATE.DEV.RAW_EVENTS',
    });
    expect([...account.catalog.objects.keys()]).toEqual(['SNOWGATE.DEV.RAW_EVENTS']);
  });
});
