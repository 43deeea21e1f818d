import { parseStageConfig, streamConsumerEnvironment, streamConsumerSettingsFromEnv, streamingAccount } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The stage config's operational defaults and refusals, as `sst deploy` and `pnpm synth` meet them.

describe('stage config: stream retention', () => {
  it('keeps records 72 h by default (a Firehose or S3 outage over a weekend loses nothing), and takes 24..8760', () => {
    expect(parseStageConfig({ snowflake: { externalId: 'x1' } }).streamRetentionHours).toBe(72);
    expect(parseStageConfig({ streamRetentionHours: 24, snowflake: { externalId: 'x1' } }).streamRetentionHours).toBe(24);
    expect(parseStageConfig({ streamRetentionHours: 8_760, snowflake: { externalId: 'x1' } }).streamRetentionHours).toBe(8_760);
    expect(() => parseStageConfig({ streamRetentionHours: 23, snowflake: { externalId: 'x1' } })).toThrow(/streamRetentionHours/);
    expect(() => parseStageConfig({ streamRetentionHours: 8_761, snowflake: { externalId: 'x1' } })).toThrow(/streamRetentionHours/);
  });
});

describe('stage config: alarm destination', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a production stage whose alarms would notify nobody, naming both ways to fix it', () => {
    writeFileSync(join(dir, 'prod.json'), JSON.stringify({ snowflake: { externalId: 'prod-external-id-123' } }));
    expect(() => loadStageConfig('prod', dir)).toThrow(
      /alarms: a production stage needs an alarm destination: set alarms\.email \(subscribed to the stage alarm topic\) or alarms\.topicArn \(an existing topic\)/,
    );
    const production = { production: true, snowflake: { externalId: 'x1' } } as const;
    expect(() => parseStageConfig(production)).toThrow(/alarm destination/);
    expect(parseStageConfig({ ...production, alarms: { email: 'oncall@example.com' } }).alarms.email).toBe('oncall@example.com');
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:oncall-pager';
    expect(parseStageConfig({ ...production, alarms: { topicArn } }).alarms.topicArn).toBe(topicArn);
    // Development stages may keep alarms that only show on the dashboard.
    expect(parseStageConfig({ snowflake: { externalId: 'x1' } }).alarms.topicArn).toBeUndefined();
  });

  it('takes only an SNS topic ARN as alarms.topicArn', () => {
    for (const topicArn of ['oncall-pager', 'arn:aws:sqs:us-east-1:123456789012:q', 'arn:aws:sns:us-east-1:1234:x']) {
      expect(() => parseStageConfig({ snowflake: { externalId: 'x1' }, alarms: { topicArn } }), topicArn).toThrow(/an SNS topic ARN/);
    }
  });
});

describe('stage config: the Snowflake account the deploy manages', () => {
  const account = { identifier: 'myorg-myaccount', secretName: 'snowgate/dev/snowflake' };
  const parse = (extra: object) =>
    parseStageConfig({ snowflake: { externalId: 'x1', account: { ...account, ...extra } } }).snowflake.account;

  it('is optional: without it the stage deploys AWS only', () => {
    expect(parseStageConfig({ snowflake: { externalId: 'x1' } }).snowflake.account).toBeUndefined();
  });

  it("defaults the SQL API's URL to the account's, and takes an https URL or a loopback fake instead", () => {
    expect(parse({})).toEqual({ ...account, url: 'https://myorg-myaccount.snowflakecomputing.com' });
    expect(parse({ identifier: 'XY12345.us-east-2.aws' })?.url).toBe('https://xy12345.us-east-2.aws.snowflakecomputing.com');
    expect(parse({ url: 'https://myorg-myaccount.privatelink.snowflakecomputing.com/' })?.url).toBe(
      'https://myorg-myaccount.privatelink.snowflakecomputing.com',
    );
    expect(parse({ url: 'http://127.0.0.1:4567' })?.url).toBe('http://127.0.0.1:4567');
    for (const url of ['http://myorg-myaccount.snowflakecomputing.com', 'ftp://127.0.0.1/', 'myorg-myaccount.snowflakecomputing.com']) {
      expect(() => parse({ url }), url).toThrow(/snowflake\.account\.url/);
    }
  });

  it('refuses a host for the identifier, a bad secret name, a quoted warehouse and an unknown key', () => {
    expect(() => parse({ identifier: 'myorg-myaccount.snowflakecomputing.com' })).toThrow(/without \.snowflakecomputing\.com/);
    expect(() => parse({ secretName: 'snowgate dev' })).toThrow(/snowflake\.account\.secretName: a Secrets Manager secret name/);
    expect(() => parse({ warehouse: '"my wh"' })).toThrow(/snowflake\.account\.warehouse/);
    expect(() => parse({ secretname: 'x' })).toThrow(/snowflake\.account\.secretname: unknown key; did you mean "secretName"\?/);
    expect(() => parse({ user: 'x' })).toThrow(/snowflake\.account\.user: unknown key; known here: identifier, secretName, warehouse, url/);
    expect(() => parseStageConfig({ snowflake: { externalId: 'x1', account: { identifier: 'a' } } })).toThrow(
      /snowflake\.account\.secretName/,
    );
  });
});

describe('stage config files a user got wrong', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // A ConfigError is what `pnpm start`, `pnpm synth` and `sst deploy` print as one line and exit 2 on, without a stack.
  it('names a file that is not JSON, not an object or missing, as a ConfigError', () => {
    writeFileSync(join(dir, 'dev.json'), '{"firehose": ');
    expect(() => loadStageConfig('dev', dir)).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/cannot read stage config .*dev\.json: .*JSON/) }),
    );
    writeFileSync(join(dir, 'dev.json'), '[]');
    expect(() => loadStageConfig('dev', dir)).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('must hold a JSON object, not an array') }),
    );
    writeFileSync(join(dir, 'dev.json'), '{}');
    writeFileSync(join(dir, 'dev.snowflake.json'), 'null');
    expect(() => loadStageConfig('dev', dir)).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('dev.snowflake.json must hold a JSON object') }),
    );
    expect(() => loadStageConfig('dev', dir, join(dir, 'nope.json'))).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('nope.json does not exist') }),
    );
  });
});

describe('stage config: delivery', () => {
  const account = { identifier: 'myorg-myaccount', secretName: 'snowgate/dev/snowflake' };

  it('delivers through files by default; streaming has a short batching window and a per-stage channel prefix', () => {
    const files = parseStageConfig({ snowflake: { externalId: 'x1' } });
    expect(files.delivery).toEqual({
      mode: 'files',
      streaming: { batchWindowSeconds: 0, batchSize: 100, memoryMb: 512, timeoutSeconds: 120 },
    });
    expect(() => parseStageConfig({ delivery: { streaming: { batchWindowSeconds: 301 } }, snowflake: { externalId: 'x1' } })).toThrow(
      /delivery\.streaming\.batchWindowSeconds/,
    );
    expect(() => parseStageConfig({ delivery: { streaming: { channelPrefix: 'a b' } }, snowflake: { externalId: 'x1' } })).toThrow(
      /delivery\.streaming\.channelPrefix/,
    );
    expect(() => parseStageConfig({ delivery: { streaming: { batchWindow: 1 } }, snowflake: { externalId: 'x1' } })).toThrow(
      /delivery\.streaming\.batchWindow: unknown key; known here: batchWindowSeconds/,
    );
  });

  it('parses streaming without an account (the twin streams to its own endpoint), but a deploy needs one', () => {
    const twin = parseStageConfig({ delivery: { mode: 'streaming' }, snowflake: { externalId: 'x1' } });
    expect(() => streamingAccount(twin)).toThrow(/delivery mode "streaming" needs snowflake\.account \(identifier and secretName\)/);
    expect(() => streamConsumerEnvironment('dev', twin)).toThrow(/needs snowflake\.account/);
  });

  it("gives the consumer the account, its secret, the streaming pipe and the stage's channels, and reads them back", () => {
    const config = parseStageConfig({ delivery: { mode: 'streaming' }, snowflake: { externalId: 'x1', account } });
    const env = streamConsumerEnvironment('dev', config);
    expect(env).toEqual({
      SNOWGATE_STAGE: 'dev',
      SNOWGATE_SNOWFLAKE_ACCOUNT: 'myorg-myaccount',
      SNOWGATE_SNOWFLAKE_URL: 'https://myorg-myaccount.snowflakecomputing.com',
      SNOWGATE_SNOWFLAKE_SECRET: 'snowgate/dev/snowflake',
      SNOWGATE_SNOWFLAKE_DATABASE: 'SNOWGATE',
      SNOWGATE_SNOWFLAKE_SCHEMA: 'DEV',
      SNOWGATE_SNOWFLAKE_PIPE: 'RAW_EVENTS_STREAMING_PIPE',
      SNOWGATE_CHANNEL_PREFIX: 'snowgate-dev',
    });
    expect(streamConsumerSettingsFromEnv(env)).toEqual({
      stage: 'dev',
      account: {
        identifier: 'myorg-myaccount',
        url: 'https://myorg-myaccount.snowflakecomputing.com',
        secretName: 'snowgate/dev/snowflake',
      },
      database: 'SNOWGATE',
      schema: 'DEV',
      pipe: 'RAW_EVENTS_STREAMING_PIPE',
      channelPrefix: 'snowgate-dev',
    });
    const named = parseStageConfig({
      delivery: { mode: 'streaming', streaming: { channelPrefix: 'eu-loader' } },
      snowflake: { externalId: 'x1', account, objects: { schema: 'EVENTS' } },
    });
    expect(streamConsumerEnvironment('my.stage', named)).toMatchObject({
      SNOWGATE_SNOWFLAKE_SCHEMA: 'EVENTS',
      SNOWGATE_CHANNEL_PREFIX: 'eu-loader',
    });
    expect(() => streamConsumerSettingsFromEnv({ ...env, SNOWGATE_SNOWFLAKE_PIPE: 'RAW EVENTS' })).toThrow(/SNOWGATE_SNOWFLAKE_PIPE/);
  });
});
