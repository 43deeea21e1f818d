import { ConfigError } from '@snowgate/core';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseStageConfig, stageConfigSchema, type StageConfig, type StageConfigInput } from './stage-config';
import { unknownKeyMessage } from './unknown-keys';

/**
 * A stage's configuration: `config/<stage>.json` (written by people), merged
 * with `config/<stage>.snowflake.json` (written back by `pnpm snowflake:apply`:
 * Snowflake's IAM user and the pipe's queue), validated by `stageConfigSchema`.
 * The AWS stacks and the local twin (stage `local`) both read it. `file`
 * replaces `config/<stage>.json` (the twin's `--config`). An unknown key in
 * either file is an error, listed with every other problem.
 */
export function loadStageConfig(stage: string, dir = join(process.cwd(), 'config'), file?: string): StageConfig {
  // The files as written: `parseStageConfig` checks the merged result, so only their shape is assumed here.
  // A missing, unreadable or garbled file is the user's to fix: a ConfigError (one line, no stack) that names it.
  const read = <T extends object>(path: string): Partial<T> => {
    if (!existsSync(path)) return {};
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read stage config ${path}: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new ConfigError(`stage config ${path} must hold a JSON object, not ${Array.isArray(value) ? 'an array' : String(value)}`);
    return value as Partial<T>;
  };
  if (file !== undefined && !existsSync(file)) throw new ConfigError(`stage config ${file} does not exist`);
  const baseFile = file ?? join(dir, `${stage}.json`);
  const snowflakeFile = join(dir, `${stage}.snowflake.json`);
  const base = read<StageConfigInput>(baseFile);
  const written = read<NonNullable<StageConfigInput['snowflake']>>(snowflakeFile);
  // Merged into `snowflake`: an unknown key there is reported under its own file's name, and left out of the merge.
  const known = Object.keys(stageConfigSchema.shape.snowflake.shape);
  const snowflake = Object.fromEntries(Object.entries(written).filter(([key]) => known.includes(key)));
  const fileProblems = Object.keys(written)
    .filter((key) => !known.includes(key))
    .map((key) => `snowflake.${key} (in ${basename(snowflakeFile)}): ${unknownKeyMessage(key, known)}`);
  const production = base.production ?? (stage === 'prod' || stage === 'production');
  if (production && !base.snowflake?.externalId) {
    throw new ConfigError(`config/${stage}.json must set snowflake.externalId for a production stage`);
  }
  const input: StageConfigInput = {
    ...base,
    production,
    snowflake: { externalId: `snowgate-${stage}`, ...base.snowflake, ...snowflake },
  };
  return parseStageConfig(input, `config for stage "${stage}" (${baseFile})`, fileProblems);
}
