import type { SSTConfig } from 'sst';
import { snowgate } from './stacks';

export default {
  // SST loads this file with its own bundler, which leaves workspace packages to Node: it cannot import
  // @snowgate/config's TypeScript sources, so the region (AWS_REGION) is read here.
  config() {
    return { name: 'snowgate', region: process.env.AWS_REGION ?? 'us-east-1' };
  },
  stacks(app) {
    snowgate(app);
  },
} satisfies SSTConfig;
