import { ConfigError } from '@snowgate/core';
import { parseStageConfig, type StageConfig } from './stage-config';

/**
 * Snowflake's half of the handshake that the AWS stack needs: the integration's IAM
 * user (trusted by the Snowflake role) and the pipe's SQS queue (notified by the
 * landing bucket). `pnpm snowflake:apply` reads both from Snowflake and keeps them in
 * Parameter Store, where every deploy finds them, from any clone or CI runner.
 */
export interface SnowflakeWiring {
  iamUserArn: string;
  notificationChannelArn: string;
  /** The freshness alert's notification integration's external ID (trusted by the alert role); absent before V1.6.0 was applied. */
  alertExternalId?: string;
  /** The pipe's load-error notification integration's external ID (trusted by the alert role); absent before it exists. */
  errorExternalId?: string;
}

/**
 * Where a stage's wiring is kept: one `String` parameter holding its JSON.
 *
 * @example
 * snowflakeWiringParameter('prod') // → '/snowgate/prod/snowflake/wiring'
 */
export function snowflakeWiringParameter(stage: string): string {
  return `/snowgate/${stage}/snowflake/wiring`;
}

/** Where the wiring a deploy uses came from: Parameter Store, the committed config files, or nowhere yet. */
export type WiringSource = 'parameter-store' | 'config' | 'none';

/**
 * The stage config a deploy builds with: the committed files, with the wiring that
 * `pnpm snowflake:apply` stored. A deploy from a clone without `config/<stage>.snowflake.json`
 * keeps the trust policy and the bucket notification; values in the files that differ from the
 * stored ones stop the deploy (one of them is stale, and a wrong guess unlinks Snowpipe).
 *
 * @example
 * withStoredWiring('dev', config, undefined).source // → 'none' before the first apply
 */
export function withStoredWiring(
  stage: string,
  config: StageConfig,
  stored: SnowflakeWiring | undefined,
): { config: StageConfig; source: WiringSource } {
  const { iamUserArn, notificationChannelArn } = config.snowflake;
  const inFiles = iamUserArn !== undefined || notificationChannelArn !== undefined;
  if (!stored) return { config, source: inFiles ? 'config' : 'none' };
  if (inFiles && (iamUserArn !== stored.iamUserArn || notificationChannelArn !== stored.notificationChannelArn)) {
    throw new ConfigError(
      `Snowflake wiring of stage "${stage}" disagrees: config/${stage}.snowflake.json (or config/${stage}.json) has ` +
        `${JSON.stringify({ iamUserArn, notificationChannelArn })}, Parameter Store ${snowflakeWiringParameter(stage)} ` +
        `(written by pnpm snowflake:apply) has ${JSON.stringify(stored)}. One is stale: delete or correct the file, ` +
        `or run pnpm snowflake:apply --stage ${stage} again. Nothing was deployed.`,
    );
  }
  const wired = { ...config, snowflake: { ...config.snowflake, ...stored } };
  return {
    config: parseStageConfig(wired, `config for stage "${stage}" with ${snowflakeWiringParameter(stage)}`),
    source: 'parameter-store',
  };
}
