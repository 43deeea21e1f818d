import { ssmWiringStore } from '@snowgate/snowflake';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployStageConfig } from '../../stacks/config';
import { synthesize } from '../../stacks/synth';
import { fakeParameterStore } from '../support/parameter-store';

// A deploy of a stage whose Snowflake side was applied elsewhere: a clean clone or CI runner has no
// config/<stage>.snowflake.json. It must keep Snowpipe wired (the trust policy and the bucket
// notification), or stop; only a stage never applied deploys without them.

const IAM_USER = 'arn:aws:iam::210987654321:user/abc1-s-v2st1234';
const QUEUE = 'arn:aws:sqs:us-east-1:210987654321:sf-snowpipe-AIDAEXAMPLE-abcdefgh';
const PARAMETER = '/snowgate/dev/snowflake/wiring';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'snowgate-clone-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('deploying an applied stage from a clone without config/<stage>.snowflake.json', () => {
  it("keeps the role's trust in Snowflake's IAM user and the landing prefix's notification to the pipe", async () => {
    const { ssm } = fakeParameterStore({ [PARAMETER]: JSON.stringify({ iamUserArn: IAM_USER, notificationChannelArn: QUEUE }) });
    const { config, source, message } = await deployStageConfig('dev', ssmWiringStore(ssm).read, dir);
    expect(source).toBe('parameter-store');
    expect(message).toMatch(/Snowpipe wiring from \/snowgate\/dev\/snowflake\/wiring/);

    const s = await synthesize('dev', config);
    const role = Object.values(s.templates.Snowflake.findResources('AWS::IAM::Role')).find((r) =>
      /Snowflake storage integration/.test(r.Properties.Description ?? ''),
    )!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Principal: { AWS: IAM_USER },
      Condition: { StringEquals: { 'sts:ExternalId': 'snowgate-dev' } },
    });
    s.templates.Storage.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          { Events: ['s3:ObjectCreated:*'], QueueArn: QUEUE, Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'events/' }] } } },
        ],
      },
    });
    for (const [stack, errors] of Object.entries(s.nagErrors)) expect(errors, stack).toEqual([]);
  }, 120_000);

  it('deploys a stage never applied without them, saying what comes next', async () => {
    const { config, source, message } = await deployStageConfig('dev', ssmWiringStore(fakeParameterStore().ssm).read, dir);
    expect(source).toBe('none');
    expect(config.snowflake.iamUserArn).toBeUndefined();
    expect(config.snowflake.notificationChannelArn).toBeUndefined();
    expect(message).toMatch(/No Snowpipe wiring yet .*pnpm snowflake:apply --stage dev, then deploy again/);
  });

  it('stops when Parameter Store cannot be read, rather than guess "not applied" and unlink Snowpipe', async () => {
    const store = fakeParameterStore();
    store.state.failWith = Object.assign(new Error('User is not authorized to perform: ssm:GetParameter'), {
      name: 'AccessDeniedException',
    });
    await expect(deployStageConfig('dev', ssmWiringStore(store.ssm).read, dir)).rejects.toThrow(
      /cannot read \/snowgate\/dev\/snowflake\/wiring from Parameter Store \(AccessDeniedException: User is not authorized.*\): without it a deploy could unlink Snowpipe, so it stops here/,
    );
    // A value that is not the wiring stops it too.
    const garbled = fakeParameterStore({ [PARAMETER]: 'not json' });
    await expect(deployStageConfig('dev', ssmWiringStore(garbled.ssm).read, dir)).rejects.toThrow(
      /\/snowgate\/dev\/snowflake\/wiring holds "not json".*run pnpm snowflake:apply --stage dev again/,
    );
  });

  it('stops when a committed file disagrees with what the last apply stored', async () => {
    writeFileSync(join(dir, 'dev.snowflake.json'), JSON.stringify({ iamUserArn: IAM_USER, notificationChannelArn: `${QUEUE}-old` }));
    const { ssm } = fakeParameterStore({ [PARAMETER]: JSON.stringify({ iamUserArn: IAM_USER, notificationChannelArn: QUEUE }) });
    await expect(deployStageConfig('dev', ssmWiringStore(ssm).read, dir)).rejects.toThrow(/disagrees.*Nothing was deployed/);
  });
});
