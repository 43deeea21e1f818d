import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The CloudWatch namespace of the ingest function's own metrics; the Alarms stack's dashboard and alarms read it. */
export const METRICS_NAMESPACE = 'Snowgate';
export const METRICS_SERVICE = 'snowgate-ingest';

/** Metric names, in one place: the stack's dashboard and alarms use the same constants. */
export const METRIC = {
  accepted: 'AcceptedRecords',
  /** Kinesis records the accepted events went in: fewer than the events when they are packed. */
  streamRecords: 'StreamRecords',
  rejected: 'RejectedRecords',
  /** Per reason, with dimension `Reason`. */
  rejectedByReason: 'RejectedRecordsByReason',
  schemaWarnings: 'SchemaWarnings',
  downstreamUnavailable: 'DownstreamUnavailable',
  /** Requests answered 500: a retry cannot succeed until an operator acts (the Alarms stack alarms on it). */
  internalErrors: 'InternalErrors',
  putRecordsRetries: 'PutRecordsRetries',
  batchSize: 'BatchSize',
} as const;

/** What one `POST /events` invocation did, as the handler reports it. */
export interface RequestOutcome {
  accepted: number;
  rejected: number;
  /** Rejected records (or the refused request, counted by its records) per reason. */
  reasons: Record<string, number>;
  schemaWarnings: number;
  /** Kinesis records the accepted events were put in (one per event in `single` packing). */
  streamRecords: number;
  /** Kinesis records (packed or not) sent again after a partial failure. */
  putRecordsRetries: number;
  /** A 503: the downstream did not take the input in time. */
  downstreamUnavailable: boolean;
  /** A 500: denied access, a missing stream or bucket, a disabled KMS key, or a bug. */
  internalError?: boolean;
}

/** Where the handler's per-request outcomes go: CloudWatch (EMF) in Lambda, the dashboard's counters in the twin. */
export interface IngestMetrics {
  record(outcome: RequestOutcome): void;
}

/**
 * Powertools Metrics: one EMF document per invocation on stdout, which Lambda's
 * log agent turns into CloudWatch metrics (no API call, no latency). The stage is
 * a dimension, so that stages sharing an account do not mix; per-reason counts go
 * in documents of their own, with dimension `Reason`.
 */
export function createEmfMetrics(
  stage: string,
  metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE, defaultDimensions: { stage } }),
): IngestMetrics {
  return {
    record(outcome) {
      metrics.addMetric(METRIC.accepted, MetricUnit.Count, outcome.accepted);
      metrics.addMetric(METRIC.rejected, MetricUnit.Count, outcome.rejected);
      metrics.addMetric(METRIC.streamRecords, MetricUnit.Count, outcome.streamRecords);
      // A 503 or a 500 has no verdict on its records: it would drag the batch-size average down.
      if (!outcome.downstreamUnavailable && !outcome.internalError)
        metrics.addMetric(METRIC.batchSize, MetricUnit.Count, outcome.accepted + outcome.rejected);
      metrics.addMetric(METRIC.downstreamUnavailable, MetricUnit.Count, outcome.downstreamUnavailable ? 1 : 0);
      // Zero on every request, so that the alarm reads a series, not the absence of one.
      metrics.addMetric(METRIC.internalErrors, MetricUnit.Count, outcome.internalError ? 1 : 0);
      metrics.addMetric(METRIC.putRecordsRetries, MetricUnit.Count, outcome.putRecordsRetries);
      if (outcome.schemaWarnings > 0) metrics.addMetric(METRIC.schemaWarnings, MetricUnit.Count, outcome.schemaWarnings);
      for (const [reason, count] of Object.entries(outcome.reasons)) {
        const single = metrics.singleMetric();
        single.addDimension('Reason', reason);
        single.addMetric(METRIC.rejectedByReason, MetricUnit.Count, count);
      }
      metrics.publishStoredMetrics();
    },
  };
}
