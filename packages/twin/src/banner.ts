import { DEFAULT_TWIN_DATA_DIR, type StageConfig } from '@snowgate/config';
import { resolve } from 'node:path';
import type { Endpoints } from './twin';

export interface BannerInput {
  endpoints: Endpoints;
  contracts: { mode: string; schemas: string[] };
  /** The stage config's auth settings, as the twin runs with them. */
  auth: StageConfig['auth'];
  /** The twin's data dir (absolute): `pnpm keys` must be given the same one. */
  dataDir: string;
  /** The stage config's delivery mode (`files` when absent). */
  delivery?: StageConfig['delivery']['mode'];
}

/**
 * What `pnpm start` prints once the twin is ready: its endpoints, its auth mode,
 * and a first request that works in that mode.
 *
 * @example
 * readyBanner({ endpoints, contracts: { mode: 'off', schemas: [] }, auth: { mode: 'apiKey', header: 'x-api-key', cacheSeconds: 300 }, dataDir })
 * // → '… Auth      apiKey: POST /events needs a key in x-api-key …'
 */
export function readyBanner({ endpoints: e, contracts, auth, dataDir, delivery = 'files' }: BannerInput): string {
  const event = `curl -s -X POST ${e.api}/events -H 'content-type: application/json' -d '{"id":"hello-1","type":"greeting"}'`;
  // `pnpm keys` defaults to .snowgate in the working directory, as the twin does.
  const dataDirArg = dataDir === resolve(DEFAULT_TWIN_DATA_DIR) ? '' : ` --data-dir ${dataDir}`;
  const [authLine, tryLines] =
    auth.mode === 'apiKey'
      ? [
          `apiKey: POST /events needs a key from pnpm keys in the ${auth.header} header (401 without, 403 for a wrong or revoked one)`,
          `KEY=$(pnpm -s keys create --producer me${dataDirArg})\n         ${event} -H "${auth.header}: $KEY"`,
        ]
      : auth.mode === 'none'
        ? ['none: POST /events takes any request', event]
        : [
            `${auth.mode} in the stage config, which the twin does not check: POST /events takes unsigned requests (only apiKey is enforced locally: --config <file> with {"auth": {"mode": "apiKey"}})`,
            event,
          ];
  return `Snowgate local twin is ready.

  Dashboard ${e.api}/         counts, throughput, lag, the quarantine, copy history, a query box
  POST ${e.api}/events      send events (application/json or application/x-ndjson)
  POST ${e.api}/v1/batch    Segment's tracking API, for the Segment and RudderStack SDKs (host ${e.api}; docs/SEGMENT.md)
  GET  ${e.api}/health
  GET  ${e.api}/status      counts and lag
  Auth      ${authLine}
  Delivery  ${
    delivery === 'streaming'
      ? 'streaming: a consumer appends each event through the emulated Snowpipe Streaming endpoint (rows queryable within about a second); landing files are kept as the archive'
      : 'files: Firehose writes landing files, Snowpipe loads them (a few seconds)'
  }
  Contracts ${contracts.mode}${contracts.schemas.length ? ` (${contracts.schemas.join(', ')})` : ''}
  Kinesis ${e.kinesis}  stream ${e.stream}
  S3      ${e.s3}  buckets ${e.buckets.landing}, ${e.buckets.errors}
  DuckDB  ${e.warehouse}

  Try:   ${tryLines}
  Query: pnpm query${dataDirArg} "select record->>'id' as id, received_at from raw_events order by loaded_at desc limit 5"

Ctrl-C stops it after delivering and loading everything accepted, and exits 0.`;
}
