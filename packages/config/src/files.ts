import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStageConfig, type StageConfig, type StageConfigInput } from './stage-config';

/**
 * A stage's configuration: `config/<stage>.json` (written by people), merged
 * with `config/<stage>.snowflake.json` (written back by `pnpm snowflake:apply`:
 * Snowflake's IAM user and the pipe's queue), validated by `stageConfigSchema`.
 * The AWS stacks and the local twin (stage `local`) both read it. `file`
 * replaces `config/<stage>.json` (the twin's `--config`).
 */
export function loadStageConfig(stage: string, dir = join(process.cwd(), 'config'), file?: string): StageConfig {
  // The files as written: `parseStageConfig` checks the merged result, so only their shape is assumed here.
  const read = <T extends object>(path: string): Partial<T> => (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {});
  if (file !== undefined && !existsSync(file)) throw new Error(`stage config ${file} does not exist`);
  const base = read<StageConfigInput>(file ?? join(dir, `${stage}.json`));
  const snowflake = read<NonNullable<StageConfigInput['snowflake']>>(join(dir, `${stage}.snowflake.json`));
  const production = base.production ?? (stage === 'prod' || stage === 'production');
  if (production && !base.snowflake?.externalId) {
    throw new Error(`config/${stage}.json must set snowflake.externalId for a production stage`);
  }
  const input: StageConfigInput = {
    ...base,
    production,
    snowflake: { externalId: `snowgate-${stage}`, ...base.snowflake, ...snowflake },
  };
  return parseStageConfig(input, `config for stage "${stage}"`);
}
