import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStageConfig, type StageConfigInput } from '@snowgate/config';
import { snowflakeVariablesSchema, storeKeySecret } from '@snowgate/snowflake';
import { linkPropertiesSchema, objectsPropertiesSchema } from '@snowgate/snowflake/resource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployStageConfig } from '../../stacks/config';
import { IAM_ROLE_NAME_MAX, fixedRoleName } from '../../stacks/snowflake-properties';
import { synthesize, type Synthesized } from '../../stacks/synth';
import { fakeSecretsManager } from '../support/secrets-manager';
import { rsaPemKeyPair } from '../support/keys';

// A stage whose Snowflake side the deploy manages (snowflake.account): synthesized offline, as
// `sst deploy` builds it, with the stage's key stored in (a fake of) Secrets Manager and its file
// named in the shell, as an operator's would be. Nothing here may carry the key.

// Stages of their own: test files run in parallel, and SST keeps each stage's bundles under .sst/.
const SECRET = 'snowgate/managed/snowflake';
const account = (extra: Partial<StageConfigInput> = {}, secretName = SECRET) =>
  parseStageConfig({
    snowflake: { externalId: 'snowgate-managed', account: { identifier: 'myorg-myaccount', secretName } },
    ...extra,
  });

/** A resource of a synthesized template, with the properties these tests read (of whichever type it is). */
interface Resource {
  Type: string;
  DependsOn?: string[];
  Metadata?: { cdk_nag?: { rules_to_suppress?: { id: string; reason: string }[] } };
  Properties: {
    RoleName?: string;
    Description?: string;
    AssumeRolePolicyDocument: { Statement: unknown[] };
    Roles: { Ref: string }[];
    PolicyDocument: { Statement: { Action: string; Resource: unknown }[] };
    Stage: string;
    Production: string;
    Account: unknown;
    Variables: Record<string, unknown>;
    Migrations: { file: string; checksum: string }[];
    Mode: string;
    Handler: string;
    Role: { 'Fn::GetAtt': [string, string] };
    Code: { S3Key: string };
    Environment: { Variables: Record<string, string> };
    LogGroupName: unknown;
    RetentionInDays: number;
    NotificationConfiguration: unknown;
    Managed: boolean;
    BucketName: unknown;
  };
}
const byType = (s: Synthesized, stack: keyof Synthesized['templates'], type: string) =>
  Object.entries(s.templates[stack].findResources(type)) as [string, Resource][];
const one = (s: Synthesized, stack: keyof Synthesized['templates'], type: string) => {
  const found = byType(s, stack, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const roleWith = (s: Synthesized, description: RegExp) =>
  byType(s, 'Snowflake', 'AWS::IAM::Role').find(([, r]) => description.test(r.Properties.Description ?? ''))!;
const getAtt = (attribute: string) => ({ 'Fn::GetAtt': ['SnowflakeObjects', attribute] });

/** Every file under a directory, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

let files: Synthesized;
let streaming: Synthesized;
let keyDir: string;
let keyBody: string;
beforeAll(async () => {
  const { privateKey } = rsaPemKeyPair();
  keyBody = privateKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  keyDir = mkdtempSync(join(tmpdir(), 'snowgate-key-'));
  writeFileSync(join(keyDir, 'rsa_key.p8'), privateKey);
  const { client, secrets } = fakeSecretsManager();
  await storeKeySecret({
    stage: 'managed',
    config: account(),
    privateKey,
    user: 'SNOWGATE_DEPLOY',
    secretsManager: client,
    print: () => {},
  });
  expect(secrets.get(SECRET)?.at(-1)).toContain(keyBody.slice(0, 64));
  // As in the operator's shell after `pnpm snowflake:secret --key-file …`.
  const before = process.env.SNOWFLAKE_PRIVATE_KEY_PATH;
  process.env.SNOWFLAKE_PRIVATE_KEY_PATH = join(keyDir, 'rsa_key.p8');
  try {
    files = await synthesize('managed', account());
    streaming = await synthesize(
      'managedprod',
      account(
        { production: true, delivery: { mode: 'streaming' }, alarms: { email: 'oncall@example.com' } },
        'snowgate/managedprod/snowflake',
      ),
    );
  } finally {
    if (before === undefined) delete process.env.SNOWFLAKE_PRIVATE_KEY_PATH;
    else process.env.SNOWFLAKE_PRIVATE_KEY_PATH = before;
  }
}, 240_000);
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

describe('a stage with snowflake.account', () => {
  it('lets the storage role be assumed only by the IAM user and external ID the Objects resource reads back from Snowflake', () => {
    const [, role] = roleWith(files, /Snowflake storage integration/);
    expect(role.Properties.RoleName).toBe('snowgate-managed-us-east-1-sf-s3');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: getAtt('IamUserArn') },
        Condition: { StringEquals: { 'sts:ExternalId': getAtt('StorageExternalId') } },
      },
    ]);
    // The alert role: the same user, with each notification integration's own external ID; it may publish to the two topics only.
    const [alertId, alert] = roleWith(files, /Snowflake notification integrations/);
    expect(alert.Properties.RoleName).toBe('snowgate-managed-us-east-1-sf-sns');
    expect(alert.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { AWS: getAtt('IamUserArn') },
        Condition: { StringEquals: { 'sts:ExternalId': [getAtt('AlertExternalId'), getAtt('ErrorExternalId')] } },
      }),
    ]);
    const alertPolicy = byType(files, 'Snowflake', 'AWS::IAM::Policy').find(([, p]) => p.Properties.Roles.some((r) => r.Ref === alertId))!;
    const published = alertPolicy[1].Properties.PolicyDocument.Statement.map((s) => [s.Action, JSON.stringify(s.Resource)]);
    expect(published).toEqual([
      ['sns:Publish', expect.stringContaining('AlarmTopic')],
      ['sns:Publish', expect.stringContaining('LoadErrors')],
    ]);
    // Without an account, the Alarms stack makes no alert role of its own: one role, here.
    expect(byType(files, 'Alarms', 'AWS::IAM::Role').filter(([, r]) => /Snowflake/.test(r.Properties.Description ?? ''))).toEqual([]);
  });

  it('names in the SQL the very roles the stack creates, by ARN, before they exist', () => {
    const [, objects] = one(files, 'Snowflake', 'Custom::SnowflakeObjects');
    const variables = objects.Properties.Variables;
    const names = byType(files, 'Snowflake', 'AWS::IAM::Role').map(([, r]) => r.Properties.RoleName);
    expect(variables.aws_role_arn).toBe(`arn:aws:iam::123456789012:role/${names.find((n) => n?.endsWith('sf-s3'))}`);
    expect(variables.alert_role_arn).toBe(`arn:aws:iam::123456789012:role/${names.find((n) => n?.endsWith('sf-sns'))}`);
    expect(variables).toMatchObject({
      integration: 'SNOWGATE_MANAGED_S3',
      alert_integration: 'SNOWGATE_MANAGED_ALERTS',
      error_integration: 'SNOWGATE_MANAGED_LOAD_ERRORS',
      database: 'SNOWGATE',
      schema: 'MANAGED',
      external_id: 'snowgate-managed',
    });
    // What exists only at deploy time is a CloudFormation reference: the landing bucket, the two topics.
    expect(JSON.stringify(variables.stage_url)).toMatch(/s3:\/\/.*Landing.*\/events\//);
    expect(JSON.stringify(variables.alert_topic_arn)).toMatch(/AlarmTopic/);
    expect(JSON.stringify(variables.error_topic_arn)).toMatch(/LoadErrors/);
    // Role names fit IAM's limit, and stay apart for long stage names.
    const long = 'x'.repeat(60);
    expect(fixedRoleName('snowgate', long, 'ap-southeast-2', 'sf-s3')).toHaveLength(IAM_ROLE_NAME_MAX);
    expect(fixedRoleName('snowgate', `${long}a`, 'ap-southeast-2', 'sf-s3')).not.toBe(
      fixedRoleName('snowgate', `${long}b`, 'ap-southeast-2', 'sf-s3'),
    );
  });

  it('passes each migration by name and sha256, the stage, whether it is production, and the account without its key', () => {
    const [, objects] = one(files, 'Snowflake', 'Custom::SnowflakeObjects');
    const dir = 'snowflake/migrations';
    const expected = readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .map((file) => ({
        file,
        checksum: createHash('sha256')
          .update(readFileSync(join(dir, file)))
          .digest('hex'),
      }));
    expect([...objects.Properties.Migrations].sort((a, b) => a.file.localeCompare(b.file))).toEqual(
      expected.sort((a, b) => a.file.localeCompare(b.file)),
    );
    expect(objects.Properties.Migrations.at(-1)?.file).toMatch(/^R__/); // repeatable ones last, as they run
    expect(objects.Properties).toMatchObject({ Stage: 'managed', Production: 'false' });
    expect(objects.Properties.Account).toEqual({
      identifier: 'myorg-myaccount',
      url: 'https://myorg-myaccount.snowflakecomputing.com',
      secretArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:us-east-1:123456789012:secret:${SECRET}`]] },
    });
    expect(one(streaming, 'Snowflake', 'Custom::SnowflakeObjects')[1].Properties).toMatchObject({
      Stage: 'managedprod',
      Production: 'true',
    });
  });

  it("sends properties the handlers accept, once CloudFormation has resolved the stack's references", () => {
    // What CloudFormation hands the Provider: references replaced by the values they name at deploy time.
    const resolve = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(resolve);
      if (value === null || typeof value !== 'object') return value;
      const v = value as Record<string, unknown>;
      if (v.Ref === 'AWS::Partition') return 'aws';
      if (typeof v['Fn::ImportValue'] === 'string') {
        const name = v['Fn::ImportValue'];
        if (/Landing/.test(name)) return 'managed-snowgate-storage-landingf95672e9-1a2b3c4d5e6f';
        if (/AlarmTopic|LoadErrors/.test(name)) return `arn:aws:sns:us-east-1:123456789012:managed-snowgate-Alarms-${name.length}`;
      }
      if (Array.isArray(v['Fn::Join'])) {
        const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
        return parts.map((part) => String(resolve(part))).join(separator);
      }
      return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, resolve(inner)]));
    };
    for (const s of [files, streaming]) {
      const objects = resolve(one(s, 'Snowflake', 'Custom::SnowflakeObjects')[1].Properties) as Record<string, unknown>;
      const parsed = objectsPropertiesSchema.parse(objects);
      expect(snowflakeVariablesSchema.safeParse(parsed.Variables).error).toBeUndefined();
      expect(linkPropertiesSchema.safeParse(resolve(one(s, 'Snowflake', 'Custom::SnowflakeLink')[1].Properties)).error).toBeUndefined();
    }
  });

  it("notifies the pipe's queue, read back by the Objects resource, of each file landed under the prefix", () => {
    const [id, notification] = one(files, 'Snowflake', 'Custom::S3BucketNotifications');
    expect(notification.Properties.NotificationConfiguration).toEqual({
      QueueConfigurations: [
        {
          Events: ['s3:ObjectCreated:*'],
          QueueArn: getAtt('NotificationChannelArn'),
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'events/' }] } },
        },
      ],
    });
    // Merged with the bucket's other notifications, not replacing them.
    expect(notification.Properties.Managed).toBe(false);
    expect(JSON.stringify(notification.Properties.BucketName)).toMatch(/Landing/);
    expect(byType(files, 'Storage', 'Custom::S3BucketNotifications')).toEqual([]);
    expect(id).toMatch(/Notifications/);
  });

  it('validates and refreshes only once the roles, their policies and the notification exist; nothing depends backwards', () => {
    const [, link] = one(files, 'Snowflake', 'Custom::SnowflakeLink');
    const [storageRole] = roleWith(files, /Snowflake storage integration/);
    const [alertRole] = roleWith(files, /Snowflake notification integrations/);
    const policies = byType(files, 'Snowflake', 'AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r) => [storageRole, alertRole].includes(r.Ref)))
      .map(([id]) => id);
    const [notification] = one(files, 'Snowflake', 'Custom::S3BucketNotifications');
    expect(policies).toHaveLength(2);
    expect([...(link.DependsOn ?? [])].sort()).toEqual([storageRole, alertRole, notification, ...policies].sort());
    expect(link.Properties).toMatchObject({
      Role: 'ACCOUNTADMIN',
      Integration: 'SNOWGATE_MANAGED_S3',
      Pipe: 'SNOWGATE.MANAGED.RAW_EVENTS_PIPE',
      Mode: 'files',
      Nonce: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The Objects resource refers to none of them (their ARNs are strings it is given): no cycle, and synth succeeded.
    const [, objects] = one(files, 'Snowflake', 'Custom::SnowflakeObjects');
    const refersTo = JSON.stringify(objects);
    for (const id of [storageRole, alertRole, notification, ...policies]) expect(refersTo).not.toContain(id);
    expect(objects.DependsOn ?? []).toEqual([]);
  });

  it('in streaming mode the landing files are an archive: no notification to the pipe, and the link refreshes nothing', () => {
    for (const stack of Object.keys(streaming.templates) as (keyof Synthesized['templates'])[]) {
      expect(byType(streaming, stack, 'Custom::S3BucketNotifications'), stack).toEqual([]);
    }
    const [, link] = one(streaming, 'Snowflake', 'Custom::SnowflakeLink');
    expect(link.Properties.Mode).toBe('streaming');
    expect(link.DependsOn?.some((id) => /Notifications/.test(id))).toBe(false);
  });

  it("runs the handlers bundled with the SQL, reading only the stage's secret, with logs kept as configured", () => {
    const handlers = byType(files, 'Snowflake', 'AWS::Lambda::Function').filter(([, f]) =>
      String(f.Properties.Handler).startsWith('packages/functions/src/snowflake-resource.'),
    );
    expect(handlers.map(([, f]) => f.Properties.Handler).sort()).toEqual([
      'packages/functions/src/snowflake-resource.isComplete',
      'packages/functions/src/snowflake-resource.onEvent',
    ]);
    for (const [, f] of handlers) {
      const roleId = f.Properties.Role['Fn::GetAtt'][0];
      const statements = byType(files, 'Snowflake', 'AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r) => r.Ref === roleId))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      expect(statements).toEqual([
        {
          Action: 'secretsmanager:GetSecretValue',
          Effect: 'Allow',
          Resource: {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:us-east-1:123456789012:secret:${SECRET}-??????`]],
          },
        },
      ]);
      const asset = join(files.assemblyDir, `asset.${String(f.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(readdirSync(join(asset, 'snowflake/migrations')).sort()).toEqual(readdirSync('snowflake/migrations').sort());
      expect(readFileSync(join(asset, 'snowflake/teardown.sql'), 'utf8')).toBe(readFileSync('snowflake/teardown.sql', 'utf8'));
      expect(f.Properties.Environment.Variables.SNOWGATE_SNOWFLAKE_DIR).toBe('snowflake');
    }
    // Every function of the stack, the Provider's framework included, has a log retention.
    const functions = byType(files, 'Snowflake', 'AWS::Lambda::Function').map(([id]) => id);
    const retained = byType(files, 'Snowflake', 'Custom::LogRetention').map(([, r]) => JSON.stringify(r.Properties.LogGroupName));
    for (const id of functions.filter((fn) => /SnowflakeResource|SnowflakeProvider/.test(fn))) {
      expect(
        retained.some((name) => name.includes(id)),
        id,
      ).toBe(true);
    }
    for (const [, r] of byType(files, 'Snowflake', 'Custom::LogRetention')) expect(r.Properties.RetentionInDays).toBe(30);
  });

  it('puts no key material in any template or asset', () => {
    for (const s of [files, streaming]) {
      const leaks = filesUnder(s.assemblyDir).filter((path) => {
        const text = readFileSync(path, 'latin1');
        // This key's body, or any PEM private key with a body (the handler's code names the PEM header, and may).
        return (
          text.includes(keyBody.slice(0, 64)) ||
          text.includes(keyBody.slice(-64)) ||
          /-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{40}/.test(text)
        );
      });
      expect(leaks).toEqual([]);
    }
  });

  it('leaves no cdk-nag AwsSolutions error, and gives a reason for every suppression', () => {
    for (const s of [files, streaming]) {
      for (const [stack, errors] of Object.entries(s.nagErrors)) expect(errors, stack).toEqual([]);
    }
    const suppressions = Object.values(files.templates.Snowflake.toJSON().Resources as Record<string, Resource>).flatMap(
      (r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? [],
    );
    expect(suppressions.length).toBeGreaterThan(0);
    for (const rule of suppressions) expect(rule.reason.length, rule.id).toBeGreaterThan(20);
  });

  it('outputs the error topic, the roles and the queue the deploy wired', () => {
    const outputs = { ...files.templates.Alarms.toJSON().Outputs, ...files.templates.Snowflake.toJSON().Outputs };
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['SnowflakeErrorTopicArn', 'SnowflakeRoleArn', 'SnowflakeAlertRoleArn', 'SnowpipeNotification']),
    );
    expect(outputs.SnowpipeNotification.Value).toEqual(getAtt('NotificationChannelArn'));
  });
});

describe('deploying a stage with snowflake.account', () => {
  it('does not read the Parameter Store wiring, and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'snowgate-account-config-'));
    try {
      writeFileSync(
        join(dir, 'dev.json'),
        JSON.stringify({ snowflake: { account: { identifier: 'myorg-myaccount', secretName: SECRET } } }),
      );
      const { config, source, message } = await deployStageConfig(
        'dev',
        () => Promise.reject(new Error('Parameter Store must not be read for a stage with an account')),
        dir,
      );
      expect(source).toBe('account');
      expect(config.snowflake.account?.identifier).toBe('myorg-myaccount');
      expect(message).toMatch(
        /Snowflake account myorg-myaccount: this deploy runs the SQL .*\/snowgate\/dev\/snowflake\/wiring is not read/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
