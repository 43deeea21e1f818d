import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS } from '@snowgate/core';
import type { StageConfig } from './stage-config';

/** A stage's CORS configuration, as API Gateway's HTTP API takes it and the twin's emulation applies it. */
export interface StageCors {
  allowOrigins: string[];
  allowHeaders: string[];
  allowMethods: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

/**
 * The stage's CORS, or undefined when its origins list is empty (CORS off): the headers the browser SDKs
 * send, plus the API-key header of auth mode `apiKey`, so that a page can call `POST /events` with it too.
 *
 * @example
 * stageCors(parseStageConfig({ snowflake })).allowOrigins // → ['*']
 */
export function stageCors(config: Pick<StageConfig, 'api' | 'auth'>): StageCors | undefined {
  const { allowOrigins, maxAgeSeconds } = config.api.cors;
  if (allowOrigins.length === 0) return undefined;
  const allowHeaders: string[] = [...CORS_ALLOW_HEADERS];
  if (config.auth.mode === 'apiKey' && !allowHeaders.includes(config.auth.header)) allowHeaders.push(config.auth.header);
  return {
    allowOrigins: [...allowOrigins],
    allowHeaders,
    allowMethods: [...CORS_ALLOW_METHODS],
    exposeHeaders: [...CORS_EXPOSE_HEADERS],
    maxAgeSeconds,
  };
}
