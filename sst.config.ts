import { SSMClient } from '@aws-sdk/client-ssm';
import { ssmWiringStore } from '@snowgate/snowflake/wiring-store';
import type { SSTConfig } from 'sst';
import { snowgate } from './stacks';
import { configureStage, deployStageConfig } from './stacks/config';

export default {
  // SST loads this file with its own bundler, which leaves workspace packages to Node: it cannot import
  // @snowgate/config's TypeScript sources, so the region (AWS_REGION) is read here.
  config() {
    return { name: 'snowgate', region: process.env.AWS_REGION ?? 'us-east-1' };
  },
  async stacks(app) {
    // Snowflake's IAM user and the pipe's queue, from Parameter Store where pnpm snowflake:apply keeps them:
    // a deploy from any clone or CI runner keeps Snowpipe wired, or stops if it cannot tell. A stage naming
    // snowflake.account skips the read: its deploy reads them back from Snowflake (stacks/Snowflake.ts).
    const { config, message } = await deployStageConfig(app.stage, ssmWiringStore(new SSMClient({ region: app.region })).read);
    console.log(message);
    configureStage(app, config);
    snowgate(app);
  },
} satisfies SSTConfig;
