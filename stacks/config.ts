import { snowflakeWiringParameter, withStoredWiring, type SnowflakeWiring, type StageConfig, type WiringSource } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';

const configs = new WeakMap<object, StageConfig>();

/** Sets the configuration an app's stacks are built with (`sst deploy`, tests and `pnpm synth` use it). */
export function configureStage(app: object, config: StageConfig): void {
  configs.set(app, config);
}

/** The configuration of the app's stage, loaded once. */
export function stageConfig(app: { stage: string }): StageConfig {
  let config = configs.get(app);
  if (!config) {
    config = loadStageConfig(app.stage);
    configs.set(app, config);
  }
  return config;
}

/**
 * What a deploy builds with: the stage's config files, and the Snowflake wiring that
 * `pnpm snowflake:apply` stored (`readStored`: Parameter Store on `sst deploy`). An
 * applied stage keeps its trust policy and bucket notification from any clone; a stage
 * never applied deploys without them; a failed read or a stale file stops the deploy.
 * A stage naming `snowflake.account` has no stored wiring to read: the deploy itself
 * reads Snowflake's side back (stacks/Snowflake.ts).
 */
export async function deployStageConfig(
  stage: string,
  readStored: (stage: string) => Promise<SnowflakeWiring | undefined>,
  dir?: string,
): Promise<{ config: StageConfig; source: WiringSource | 'account'; message: string }> {
  const parameter = snowflakeWiringParameter(stage);
  const loaded = loadStageConfig(stage, dir);
  if (loaded.snowflake.account) {
    return {
      config: loaded,
      source: 'account',
      message: `Snowflake account ${loaded.snowflake.account.identifier}: this deploy runs the SQL in snowflake/ and wires Snowpipe itself (the key from Secrets Manager ${loaded.snowflake.account.secretName}); ${parameter} is not read`,
    };
  }
  const { config, source } = withStoredWiring(stage, loaded, await readStored(stage));
  const message = {
    'parameter-store': `Snowpipe wiring from ${parameter}: the role trusts Snowflake's IAM user, the landing prefix notifies the pipe`,
    config: `Snowpipe wiring from config/${stage}.snowflake.json (${parameter} is not set: pnpm snowflake:apply --stage ${stage} writes it)`,
    none: `No Snowpipe wiring yet (${parameter} is not set): deploying without it; next, pnpm snowflake:apply --stage ${stage}, then deploy again`,
  }[source];
  return { config, source, message };
}
