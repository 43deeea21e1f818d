import type { TwinStatus } from './status';

/**
 * The twin's status in one line, as `pnpm start` prints it every 10 s and when it stops.
 * Replayed records (sent by `pnpm replay` straight to the stream) are counted apart
 * from those accepted over HTTP: together they are what gets loaded.
 *
 * @example
 * statusLine(twin.status()) // → 'accepted 40 · replayed 2 · quarantined 3 · files 4 · loaded rows 42 · …'
 */
export function statusLine(s: TwinStatus): string {
  return [
    `accepted ${s.api.accepted}`,
    `replayed ${s.firehose.replayedRecords}`,
    `quarantined ${s.api.quarantinedRecords}`,
    ...(s.contracts.mode === 'warn' ? [`schema warnings ${s.api.schemaWarnings}`] : []),
    `files ${s.firehose.deliveredFiles}`,
    `loaded rows ${s.snowpipe.loadedRows}`,
    `skipped files ${s.snowpipe.skippedFiles}`,
    `buffered ${s.lag.bufferedRecords}`,
    `files waiting ${s.lag.filesWaiting}`,
    ...(s.deliveryFailed ? [`DELIVERY FAILED: ${s.deliveryFailed}`] : []),
  ].join(' · ');
}
