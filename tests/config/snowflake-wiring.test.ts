import { ConfigError } from '@snowgate/core';
import { parseStageConfig, snowflakeWiringParameter, withStoredWiring } from '@snowgate/config';
import { describe, expect, it } from 'vitest';

// How a deploy combines the committed config with the wiring `pnpm snowflake:apply` stored.

const IAM_USER = 'arn:aws:iam::210987654321:user/abc1-s-v2st1234';
const QUEUE = 'arn:aws:sqs:us-east-1:210987654321:sf-snowpipe-AIDAEXAMPLE-abcdefgh';
const stored = { iamUserArn: IAM_USER, notificationChannelArn: QUEUE };
const bare = parseStageConfig({ snowflake: { externalId: 'snowgate-dev' } });
const withFile = (wiring: Record<string, string>) => parseStageConfig({ snowflake: { externalId: 'snowgate-dev', ...wiring } });

describe('withStoredWiring', () => {
  it('names one parameter per stage', () => {
    expect(snowflakeWiringParameter('prod')).toBe('/snowgate/prod/snowflake/wiring');
  });

  it("wires a clone that has no config/<stage>.snowflake.json from the stored values: the deploy keeps Snowpipe's trust and notification", () => {
    const { config, source } = withStoredWiring('dev', bare, stored);
    expect(source).toBe('parameter-store');
    expect(config.snowflake).toMatchObject({ ...stored, externalId: 'snowgate-dev' });
    // Same values in the file too: agreed.
    expect(withStoredWiring('dev', withFile(stored), stored)).toMatchObject({ source: 'parameter-store', config: { snowflake: stored } });
  });

  it('deploys without wiring before the first apply, and from the files alone where nothing is stored', () => {
    expect(withStoredWiring('dev', bare, undefined)).toEqual({ config: bare, source: 'none' });
    expect(withStoredWiring('dev', withFile(stored), undefined)).toEqual({ config: withFile(stored), source: 'config' });
  });

  it('stops when the files and the stored wiring disagree (one is stale), naming both and what to do', () => {
    const otherQueue = 'arn:aws:sqs:us-east-1:210987654321:sf-snowpipe-OLD';
    const attempt = () => withStoredWiring('prod', withFile({ iamUserArn: IAM_USER, notificationChannelArn: otherQueue }), stored);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /Snowflake wiring of stage "prod" disagrees: config\/prod\.snowflake\.json .*sf-snowpipe-OLD.*\/snowgate\/prod\/snowflake\/wiring .*sf-snowpipe-AIDAEXAMPLE.*run pnpm snowflake:apply --stage prod again\. Nothing was deployed\./,
    );
    // A file with the user only (written by hand, before the pipe existed) is stale too.
    expect(() => withStoredWiring('dev', withFile({ iamUserArn: IAM_USER }), stored)).toThrow(/disagrees/);
  });

  it('validates what was stored as the stage config validates the files', () => {
    expect(() => withStoredWiring('dev', bare, { iamUserArn: 'someone', notificationChannelArn: QUEUE })).toThrow(/iamUserArn/);
  });
});
