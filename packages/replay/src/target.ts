import type { Contracts } from '@snowgate/core';
import { endpointsFile, parseIngestSettings, twinDataDir, type IngestSettings } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import { loadContracts } from '@snowgate/contracts';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ReplayTarget {
  description: string;
  settings: IngestSettings;
  contracts: Contracts | undefined;
  clients: ReturnType<typeof createClients>;
}

export interface TargetOptions {
  stage: string;
  /** The twin's data dir (stage `local`). */
  dataDir?: string | undefined;
  /** The twin's stage config file, when it was started with `--config`. */
  config?: string | undefined;
  /** SST's outputs file (a deployed stage). */
  outputs?: string | undefined;
  schemasDir?: string | undefined;
  region?: string | undefined;
}

/**
 * Where to replay: stage `local` is the twin (its `endpoints.json`; it must be
 * running), any other stage is a deployed one (`.sst/outputs.json` names its
 * stream and error bucket; credentials come from the usual AWS chain). Limits
 * and contracts are the stage's own, so a record is judged as the stage's
 * handler would judge it today.
 */
export function resolveTarget(options: TargetOptions): ReplayTarget {
  const schemasDir = resolve(options.schemasDir ?? 'schemas');
  if (options.stage === 'local') {
    const dataDir = twinDataDir(options.dataDir);
    const file = endpointsFile(dataDir);
    if (!existsSync(file))
      throw new Error(`no ${file}: start the twin first (pnpm start${options.dataDir ? ` --data-dir ${options.dataDir}` : ''})`);
    const endpoints = JSON.parse(readFileSync(file, 'utf8')) as {
      kinesis: string;
      s3: string;
      stream: string;
      buckets: { errors: string };
    };
    const stage = loadStageConfig('local', undefined, options.config && resolve(options.config));
    const settings = parseIngestSettings({
      streamName: endpoints.stream,
      errorBucket: endpoints.buckets.errors,
      errorPrefix: stage.buckets.errorPrefix,
      region: 'us-east-1',
      kinesisEndpoint: endpoints.kinesis,
      s3Endpoint: endpoints.s3,
      limits: stage.ingest.limits,
      packing: stage.ingest.packing,
      contracts: stage.contracts,
      schemasDir,
    });
    return {
      description: `the local twin (${dataDir})`,
      settings,
      contracts: loadContracts(settings.contracts, schemasDir),
      clients: createClients(settings, LOCAL_CREDENTIALS),
    };
  }
  const outputsFile = resolve(options.outputs ?? '.sst/outputs.json');
  if (!existsSync(outputsFile))
    throw new Error(
      `no ${outputsFile}: deploy stage ${options.stage} first (pnpm sst deploy --stage ${options.stage}), or pass --outputs <file>`,
    );
  const all = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
  const storage = all[`${options.stage}-snowgate-Storage`];
  const stream = all[`${options.stage}-snowgate-Stream`];
  if (!storage?.ErrorBucket || !stream?.StreamName) {
    throw new Error(
      `${outputsFile} has no ErrorBucket / StreamName for stage "${options.stage}" (looked for ${options.stage}-snowgate-Storage and -Stream): deploy that stage first`,
    );
  }
  const stage = loadStageConfig(options.stage);
  const settings = parseIngestSettings({
    streamName: stream.StreamName,
    errorBucket: storage.ErrorBucket,
    errorPrefix: stage.buckets.errorPrefix,
    ...(options.region ? { region: options.region } : {}),
    limits: stage.ingest.limits,
    packing: stage.ingest.packing,
    contracts: stage.contracts,
    schemasDir,
  });
  return {
    description: `stage ${options.stage} (s3://${storage.ErrorBucket}, stream ${stream.StreamName})`,
    settings,
    contracts: loadContracts(settings.contracts, schemasDir),
    clients: createClients(settings),
  };
}
