import type { TwinStatus } from './status';

/**
 * The twin's status in one line, as `pnpm start` prints it every 10 s and when it stops.
 * Replayed records (sent by `pnpm replay` straight to the stream) are counted apart
 * from those accepted over HTTP: together they are what gets loaded. Beside the
 * accepted events, the Kinesis records they went in (fewer when packed).
 *
 * @example
 * statusLine(twin.status()) // → 'accepted 40 (2 stream records) · replayed 2 · quarantined 3 · files 4 (loaded 4) · loaded rows 42 · …'
 */
export function statusLine(s: TwinStatus): string {
  return [
    `accepted ${s.api.accepted} (${s.api.streamRecords} stream record${s.api.streamRecords === 1 ? '' : 's'})`,
    `replayed ${s.firehose.replayedEvents}`,
    `quarantined ${s.api.quarantinedRecords}`,
    ...(s.contracts.mode === 'warn' ? [`schema warnings ${s.api.schemaWarnings}`] : []),
    ...(s.streaming
      ? [
          // Streaming: the rows come through the channels; the landing files are the archive.
          `streamed rows ${s.streaming.channels.reduce((n, c) => n + c.rowsInserted, 0)}`,
          `channels ${s.streaming.channels.length}`,
          `records not yet committed ${s.lag.streamingRecords ?? 0}`,
          `archived files ${s.firehose.deliveredFiles}`,
        ]
      : [
          // Files delivered beside files loaded: a gap that grows is a Snowpipe that stopped.
          `files ${s.firehose.deliveredFiles} (loaded ${s.snowpipe.loadedFiles})`,
          `loaded rows ${s.snowpipe.loadedRows}`,
          `skipped files ${s.snowpipe.skippedFiles}`,
          `buffered ${s.lag.bufferedEvents}`,
          `files waiting ${s.lag.filesWaiting}`,
        ]),
    ...(s.deliveryFailed ? [`DELIVERY FAILED: ${s.deliveryFailed}`] : []),
  ].join(' · ');
}
