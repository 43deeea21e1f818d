import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closestName, editDistance, parseStageConfig, type StageConfigInput } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import { ConfigError } from '@snowgate/core';
import { afterAll, describe, expect, it } from 'vitest';

const snowflake = { externalId: 'snowgate-dev' };

/** The problems of a config that must be refused: the error's lines after its first. */
function problems(input: unknown): string[] {
  try {
    parseStageConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n').slice(1);
  }
  throw new Error('the config was accepted');
}

describe('a stage config refuses keys it does not know', () => {
  it('a typo in a section, with the closest known name', () => {
    expect(problems({ snowflake, firehose: { bufferIntervalSecond: 1 } })).toEqual([
      '  - firehose.bufferIntervalSecond: unknown key; did you mean "bufferIntervalSeconds"?',
    ]);
  });

  it('an unknown section, with the names that are known there', () => {
    const [problem, ...rest] = problems({ snowflake, replication: { mode: 'duckdb' } });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^ {2}- replication: unknown key; known here: production, auth, api, .*firehose, .*alarms$/);
  });

  it('at every level: a mode of a union, the shared handler settings, nested objects', () => {
    expect(problems({ snowflake, auth: { mode: 'apiKey', headr: 'x-key' } })).toEqual([
      '  - auth.headr: unknown key; did you mean "header"?',
    ]);
    expect(problems({ snowflake, stream: { mode: 'provisioned', shards: 2, shard: 2 } })).toEqual([
      '  - stream.shard: unknown key; did you mean "shards"?',
    ]);
    expect(problems({ snowflake, ingest: { limits: { maxDepht: 3 } } })).toEqual([
      '  - ingest.limits.maxDepht: unknown key; did you mean "maxDepth"?',
    ]);
    expect(problems({ snowflake, ingest: { write: { budgetMS: 100 } } })).toEqual([
      '  - ingest.write.budgetMS: unknown key; did you mean "budgetMs"?',
    ]);
    expect(problems({ snowflake, ingest: { packing: { mode: 'single', maxBytes: 2_000 } } })).toEqual([
      expect.stringMatching(/^ {2}- ingest\.packing\.maxBytes: unknown key/),
    ]);
    expect(problems({ snowflake, contracts: { mode: 'warn', unkown: 'reject' } })).toEqual([
      '  - contracts.unkown: unknown key; did you mean "unknown"?',
    ]);
    expect(problems({ snowflake: { ...snowflake, objects: { database: 'DB', role: 'R' } } })).toEqual([
      expect.stringMatching(/^ {2}- snowflake\.objects\.role: unknown key; known here: database, schema, warehouse, adminRole$/),
    ]);
  });

  it('lists every unknown key at once, a line each, with the other problems', () => {
    const found = problems({
      snowflake,
      replication: { mode: 'duckdb' },
      firehose: { bufferIntervalSecond: 1, prefx: 'events/' },
      alarms: { emial: 'oncall@example.com' },
      lambda: { timeoutSeconds: 2 },
    });
    expect(found).toHaveLength(6);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}- replication: unknown key/),
        '  - firehose.bufferIntervalSecond: unknown key; did you mean "bufferIntervalSeconds"?',
        '  - firehose.prefx: unknown key; did you mean "prefix"?',
        '  - alarms.emial: unknown key; did you mean "email"?',
        '  - lambda.timeoutSeconds: Too small: expected number to be >=3',
        '  - ingest.write.budgetMs: the write budget must end at least 500 ms before the Lambda timeout',
      ]),
    );
  });

  it('accepts every known key, and its own output again (pnpm snowflake:apply re-checks a parsed config)', () => {
    const input: StageConfigInput = {
      production: false,
      auth: { mode: 'apiKey', header: 'x-key', cacheSeconds: 60 },
      stream: { mode: 'provisioned', shards: 2 },
      firehose: { bufferSizeMiB: 2, bufferIntervalSeconds: 1, prefix: 'e/', errorPrefix: 'f/' },
      ingest: { limits: { maxDepth: 10 }, write: { budgetMs: 1_000 }, packing: { mode: 'single' } },
      contracts: { mode: 'warn', unknown: 'reject' },
      snowflake: { ...snowflake, objects: { database: 'DB' } },
      alarms: { email: 'oncall@example.com' },
    };
    const config = parseStageConfig(input);
    expect(config.firehose.bufferIntervalSeconds).toBe(1);
    expect(parseStageConfig(config)).toEqual(config);
  });
});

describe('closestName', () => {
  it('suggests a name a typo away, ignoring case, and nothing when none is close', () => {
    expect(editDistance('bufferIntervalSecond', 'bufferIntervalSeconds')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('emial', 'email')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestName('buffersizemib', ['bufferSizeMiB', 'bufferIntervalSeconds'])).toBe('bufferSizeMiB');
    expect(closestName('delivery', ['firehose', 'ingest', 'stream'])).toBeUndefined();
    expect(closestName('api', ['aws'])).toBeUndefined();
  });
});

describe('loadStageConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snowgate-stage-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts the repository's example configuration", () => {
    expect(loadStageConfig('prod.example', join(process.cwd(), 'config')).production).toBe(true);
  });

  it("accepts the repository's example of a stage whose Snowflake side the deploy manages", () => {
    expect(loadStageConfig('snowflake.example', join(process.cwd(), 'config')).snowflake.account).toEqual({
      identifier: 'myorg-myaccount',
      secretName: 'snowgate/dev/snowflake',
      warehouse: 'COMPUTE_WH',
      url: 'https://myorg-myaccount.snowflakecomputing.com',
    });
  });

  it('refuses an unknown key in <stage>.snowflake.json, naming that file, with the problems of <stage>.json', () => {
    writeFileSync(join(dir, 'dev.json'), JSON.stringify({ firehose: { bufferIntervalSecond: 1 } }));
    writeFileSync(join(dir, 'dev.snowflake.json'), JSON.stringify({ iamUserArm: 'arn:aws:iam::123456789012:user/x' }));
    expect(() => loadStageConfig('dev', dir)).toThrow(
      new ConfigError(
        `invalid config for stage "dev" (${join(dir, 'dev.json')}):\n` +
          '  - firehose.bufferIntervalSecond: unknown key; did you mean "bufferIntervalSeconds"?\n' +
          '  - snowflake.iamUserArm (in dev.snowflake.json): unknown key; did you mean "iamUserArn"?',
      ),
    );
  });
});
