import { parseStageConfig } from '@snowgate/config';
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
