import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import middy from '@middy/core';
import {
  assessRequest,
  assessSegmentRequest,
  buildQuarantineObject,
  ConfigError,
  needsQuarantine,
  responseOf,
  segmentResponseOf,
  segmentRouteOf,
  segmentStatusOf,
  statusOf,
  systemClock,
  type Clock,
  type Contracts,
} from '@snowgate/core';
import type { IngestSettings } from '@snowgate/config';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ingestErrorHandler, jsonResponse, toIncomingRequest } from './http';
import { createKinesisWriter } from './kinesis-writer';
import type { IngestMetrics } from './metrics';
import { createQuarantineWriter, type S3ClientSource } from './quarantine-writer';

export interface IngestDependencies {
  settings: IngestSettings;
  kinesis: KinesisClient;
  /** The error bucket's client, or a function that makes it on first use (the Lambda's entry). */
  s3: S3ClientSource;
  logger?: Logger;
  clock?: Clock;
  /**
   * Compiled schema contracts, required when `settings.contracts.mode` is not
   * `off`: the Lambda's entry loads the standalone validators synth generated
   * (`schemas/validators.mjs`), the twin and the tests compile `schemas/` with
   * `@snowgate/contracts`.
   */
  contracts?: Contracts | undefined;
  /** Per-request outcomes: EMF in Lambda (`createEmfMetrics`), the dashboard's counters in the twin. None by default. */
  metrics?: IngestMetrics | undefined;
}

/** Time kept back from the Lambda timeout to answer 503 rather than be killed. */
const ANSWER_MARGIN_MS = 500;

/**
 * `POST /events` (and the Segment routes, `POST /v1/batch` and `/v1/<call>`): assess every record, put the accepted ones on the stream and
 * the rejected input in the error bucket, and answer only once both are
 * durable. The same function runs in Lambda and in the local twin.
 */
export function createIngestHandler({
  settings,
  kinesis,
  s3,
  logger = new Logger({ serviceName: 'snowgate-ingest' }),
  clock = systemClock,
  contracts,
  metrics,
}: IngestDependencies) {
  if (settings.contracts.mode !== 'off' && !contracts) {
    throw new ConfigError(`contracts mode is "${settings.contracts.mode}" but no compiled contracts were given to the handler`);
  }
  const putRecords = createKinesisWriter(kinesis, settings, clock);
  const quarantine = createQuarantineWriter(s3, settings, clock);

  async function ingest(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
    const started = clock.now();
    const request = toIncomingRequest(event, new Date(started));
    // `POST /v1/batch` and `/v1/<call>` (Segment's tracking API) are read their own way, then go the same way.
    const segment = segmentRouteOf(event.routeKey);
    const assessment = segment
      ? assessSegmentRequest(request, segment, settings.limits, contracts)
      : assessRequest(request, settings.limits, contracts);
    const status = segment ? segmentStatusOf(assessment) : statusOf(assessment);

    // The write budget starts once the input is judged: a slow assessment (a large body, many schema errors)
    // must not turn bad input into a 503. The Lambda's remaining time still caps it.
    const assessed = clock.now();
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS : Infinity;
    const deadline = assessed + Math.max(0, Math.min(settings.write.budgetMs, remaining));
    const delivery = assessment.accepted.length > 0 ? putRecords(assessment.accepted, deadline, assessment.requestId) : undefined;
    const quarantined = needsQuarantine(assessment)
      ? quarantine(
          buildQuarantineObject(assessment, {
            status,
            headers: request.headers,
            sourceIp: request.sourceIp,
            maxInputBytes: settings.limits.quarantineMaxInputBytes,
          }),
          deadline,
        )
      : undefined;
    // Wait for both, even when one fails, so that nothing is still in flight when we answer.
    const [stream, errors] = await Promise.allSettled([delivery, quarantined]);
    if (stream.status === 'rejected') throw stream.reason;
    if (errors.status === 'rejected') throw errors.reason;

    const reasons: Record<string, number> = {};
    if (assessment.requestRejection) reasons[assessment.requestRejection.reason] = assessment.requestRejection.records;
    for (const r of assessment.rejected) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
    metrics?.record({
      accepted: assessment.accepted.length,
      rejected: assessment.requestRejection ? assessment.requestRejection.records : assessment.rejected.length,
      reasons,
      schemaWarnings: assessment.warnings.length,
      streamRecords: stream.value?.streamRecords ?? 0,
      putRecordsRetries: stream.value?.resent ?? 0,
      downstreamUnavailable: false,
    });
    logger.info('request ingested', {
      requestId: assessment.requestId,
      status,
      accepted: assessment.accepted.length,
      rejected: assessment.rejected.length,
      reasons: Object.keys(reasons),
      quarantineKey: errors.value,
      // Contract mode `warn`: what `enforce` would have rejected, without the records' content.
      ...(assessment.warnings.length > 0
        ? {
            schemaWarnings: assessment.warnings.map(({ index, reason, schema }) => ({
              index,
              reason,
              ...(schema ? { schema: `${schema.type}/${schema.version}` } : {}),
            })),
          }
        : {}),
      putRecords: stream.value,
      durationMs: clock.now() - started,
    });
    return jsonResponse(status, segment ? segmentResponseOf(assessment) : responseOf(assessment));
  }

  return (
    middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(ingest)
      // Never log the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries credentials and bodies.
      .use(injectLambdaContext(logger, { logEvent: false }))
      .use(ingestErrorHandler(logger, metrics))
  );
}
