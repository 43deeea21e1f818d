import { formatKeySecret } from '@snowgate/snowflake-api';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAccount, startFakeSnowflakeAccount } from '../support/fake-snowflake-catalog';

// pnpm snowflake:apply as a user runs it, for a stage whose config names a Snowflake account:
// the key from the stage's secret, the SQL API at snowflake.account.url (the fake, with its
// catalog), Secrets Manager and Parameter Store at a local endpoint that speaks their JSON
// protocol (AWS_ENDPOINT_URL_*: the SDK's own setting; no call leaves the machine).

const root = new URL('../../', import.meta.url).pathname;
const stage = `clitest${process.pid}`;
const STAGE = stage.toUpperCase();

let account: FakeAccount;
let aws: http.Server;
const parameters = new Map<string, string>();
const dir = mkdtempSync(join(tmpdir(), 'snowgate-cli-'));

beforeAll(async () => {
  account = await startFakeSnowflakeAccount();
  const secret = formatKeySecret({ user: account.user, privateKey: account.privateKey });
  aws = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const target = String(req.headers['x-amz-target']);
    const reply = (status: number, answer: object) => {
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(answer));
    };
    if (target === 'secretsmanager.GetSecretValue' && body.SecretId === `snowgate/${stage}/snowflake`)
      return reply(200, { Name: body.SecretId, SecretString: secret, VersionId: 'v1' });
    if (target === 'AmazonSSM.PutParameter') {
      parameters.set(body.Name, body.Value);
      return reply(200, { Version: 1, Tier: 'Standard' });
    }
    if (target === 'AmazonSSM.DeleteParameter' && parameters.delete(body.Name)) return reply(200, {});
    reply(400, { __type: 'ResourceNotFoundException', message: `not here: ${target}` });
  });
  await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
  writeFileSync(
    join(root, 'config', `${stage}.json`),
    JSON.stringify({
      snowflake: {
        externalId: `snowgate-${stage}`,
        account: { identifier: 'myorg-myaccount', secretName: `snowgate/${stage}/snowflake`, url: account.fake.url },
      },
    }),
  );
  writeFileSync(
    join(dir, 'outputs.json'),
    JSON.stringify({
      [`${stage}-snowgate-Snowflake`]: {
        SnowflakeRoleArn: `arn:aws:iam::123456789012:role/${stage}-snowgate-snowflake`,
        SnowflakeExternalId: `snowgate-${stage}`,
        SnowflakeStageUrl: `s3://${stage}-landing-1a2b/events/`,
        SnowflakeErrorTopicArn: `arn:aws:sns:us-east-1:123456789012:${stage}-snowgate-LoadErrors`,
      },
      [`${stage}-snowgate-Alarms`]: {
        AlarmTopic: `arn:aws:sns:us-east-1:123456789012:${stage}-snowgate-AlarmTopic`,
        SnowflakeAlertRoleArn: `arn:aws:iam::123456789012:role/${stage}-snowgate-snowflake-alerts`,
      },
    }),
  );
});
afterAll(async () => {
  for (const file of [`${stage}.json`, `${stage}.snowflake.json`]) rmSync(join(root, 'config', file), { force: true });
  rmSync(dir, { recursive: true, force: true });
  await account.fake.close();
  await new Promise((resolve) => aws.close(resolve));
});

const apply = (command = 'snowflake:apply', ...more: string[]) => {
  const endpoint = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
  return promisify(execFile)(
    'pnpm',
    ['-s', command, '--stage', stage, '--outputs', join(dir, 'outputs.json'), '--region', 'us-east-1', ...more],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_NO_WARNINGS: '1',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
        AWS_ENDPOINT_URL_SSM: endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_PROFILE: '',
      },
      timeout: 90_000,
    },
  );
};

describe('pnpm snowflake:apply for a stage with snowflake.account', () => {
  it('signs in with the key from the secret, applies every migration, stores the wiring; run again, applies nothing; remove drops it all', {
    timeout: 180_000,
  }, async () => {
    const first = await apply();
    expect(first.stderr).toBe(`snowflake: connecting as SNOWGATE_DEPLOY of myorg-myaccount, key from secret snowgate/${stage}/snowflake\n`);
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toBe('V1.0.0__context.sql: 5 statements');
    expect(lines).toContain('applied 10 migrations');
    expect(lines.at(-1)).toBe(
      `next: pnpm sst deploy --stage ${stage} (trusts Snowflake's IAM user, notifies the pipe's queue, lets the alerts and load errors publish)`,
    );
    const wiring = JSON.parse(parameters.get(`/snowgate/${stage}/snowflake/wiring`)!);
    expect(wiring).toEqual({
      iamUserArn: account.catalog.iamUserArn,
      notificationChannelArn: account.catalog.queueArn,
      alertExternalId: account.catalog.integrations.get(`SNOWGATE_${STAGE}_ALERTS`)!.sfExternalId,
      errorExternalId: account.catalog.integrations.get(`SNOWGATE_${STAGE}_LOAD_ERRORS`)!.sfExternalId,
    });
    expect(account.catalog.history('SNOWGATE', STAGE)).toHaveLength(10);

    const changes = () => account.catalog.statements.filter((s) => !/^(SELECT|SHOW|DESC)\b/.test(s.sql)).length;
    const before = changes();
    const second = await apply();
    expect(second.stdout.split('\n')[0]).toBe('nothing to apply: all 10 migrations already applied');
    expect(changes()).toBe(before);
    expect(JSON.parse(parameters.get(`/snowgate/${stage}/snowflake/wiring`)!)).toEqual(wiring);

    // Removed: everything but the database, the schema and the warehouse, and the wiring with it.
    const removed = await apply('snowflake:remove', '--yes');
    expect(removed.stdout).toMatch(
      new RegExp(`^teardown\\.sql: \\d+ statements\nremoved config/${stage}\\.snowflake\\.json and /snowgate/${stage}/snowflake/wiring; `),
    );
    expect([...account.catalog.objects.keys()]).toEqual([]);
    expect([...account.catalog.integrations.keys()]).toEqual([]);
    expect(parameters.size).toBe(0);
  });
});
