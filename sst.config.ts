import type { SSTConfig } from 'sst';
import { snowgate } from './stacks';

export default {
  config() {
    return { name: 'snowgate', region: process.env.AWS_REGION ?? 'us-east-1' };
  },
  stacks(app) {
    snowgate(app);
  },
} satisfies SSTConfig;
