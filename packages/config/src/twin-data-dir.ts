import { join, resolve } from 'node:path';
import type { Env } from './env';

/** Where the local twin keeps its state unless told otherwise: `.snowgate/` in the working directory. */
export const DEFAULT_TWIN_DATA_DIR = '.snowgate';

/**
 * The twin's data dir, as every tool works it out: the `--data-dir` option,
 * else `SNOWGATE_DATA_DIR`, else `.snowgate`; an absolute path.
 *
 * @example
 * twinDataDir(undefined, { SNOWGATE_DATA_DIR: '/tmp/twin' }) // → '/tmp/twin'
 */
export function twinDataDir(flag?: string | undefined, env: Env = process.env): string {
  return resolve(flag ?? env.SNOWGATE_DATA_DIR ?? DEFAULT_TWIN_DATA_DIR);
}

/**
 * The file a running twin writes its endpoints to (`api`, `kinesis`, `s3`,
 * `stream`, `buckets`); a tool finds the twin through it.
 */
export function endpointsFile(dataDir: string): string {
  return join(dataDir, 'endpoints.json');
}
