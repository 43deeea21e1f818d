-- The pipe Snowpipe Streaming appends through (delivery mode `streaming`, docs/CONFIGURATION.md).
--
-- In `streaming`, the stream consumer (packages/functions/src/stream-consumer.ts) appends each event
-- as a row through Snowpipe Streaming's high-performance REST API, one channel per Kinesis shard,
-- and this pipe's COPY maps the row to RAW_EVENTS' columns: the table, its views and every query
-- stay as they are. A row is the envelope (received_at, request_id, auth, producer, record) plus:
--   source_file      'kinesis:<shardId>:<sequenceNumber>': the Kinesis record the event came in
--                    (for a loaded file: its path, as before);
--   file_row_number  the event's 1-based line in that Kinesis record (a packed record holds several);
--   loaded_at        when the consumer appended it (ISO 8601). A streaming COPY has no file scan, so
--                    no METADATA$START_SCAN_TIME; Snowflake commits the row seconds later.
-- (source_file, file_row_number) names one event once in both modes, so RAW_EVENTS_UNIQUE's order
-- and LOAD_FRESHNESS (newest loaded_at) work on streamed rows unchanged.
--
-- Created in both modes, so that switching `delivery.mode` needs no migration; in `files` nothing
-- appends to it. In `streaming` the landing prefix does not notify RAW_EVENTS_PIPE (the stack leaves
-- the bucket notification out), so no event is loaded twice; Firehose keeps writing the landing
-- files as the archive and replay's source.
-- https://docs.snowflake.com/en/sql-reference/sql/create-pipe ("A streaming source: COPY INTO mytable
-- FROM (SELECT ... FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING')))")
-- https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-overview
--
-- Privileges: calling Snowpipe Streaming needs USAGE on the database and schema, INSERT on the table
-- and OPERATE on a named pipe
-- (https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-access-control).
-- {{ loader_role }} has the first three (V1.1.0, V1.3.0) and creates the pipe, so owns it (OWNERSHIP
-- includes OPERATE); created under its own privileges only, as V1.4.0 does, which proves it has them.
-- The consumer signs in as the user in the stage's secret, with that user's default role: grant it
-- {{ loader_role }} (docs/CONFIGURATION.md, "Delivery").
-- IF NOT EXISTS: a pipe's COPY cannot change in place; a later migration recreates it.
USE ROLE {{ loader_role }};

USE SECONDARY ROLES NONE;

CREATE PIPE IF NOT EXISTS {{ database }}.{{ schema }}.{{ streaming_pipe }}
  COMMENT = 'Snowgate: streamed rows (Snowpipe Streaming, one channel per Kinesis shard) into RAW_EVENTS'
  AS
  COPY INTO {{ database }}.{{ schema }}.{{ table }} (record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer)
  FROM (
    SELECT
      $1:record,
      $1:received_at::TIMESTAMP_TZ,
      $1:request_id::VARCHAR,
      $1:source_file::VARCHAR,
      $1:file_row_number::NUMBER(38, 0),
      $1:loaded_at::TIMESTAMP_LTZ,
      $1:auth::VARCHAR,
      $1:producer::VARCHAR
    FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING'))
  );

USE ROLE {{ admin_role }};

GRANT MONITOR ON PIPE {{ database }}.{{ schema }}.{{ streaming_pipe }} TO ROLE {{ reader_role }};

-- The columns V1.3.0 described for files only: what they hold for a streamed row too.
COMMENT ON COLUMN {{ database }}.{{ schema }}.{{ table }}.source_file IS
  'the landing file (METADATA$FILENAME), or kinesis:<shardId>:<sequenceNumber> for a streamed row';

COMMENT ON COLUMN {{ database }}.{{ schema }}.{{ table }}.file_row_number IS
  'its line in that file (METADATA$FILE_ROW_NUMBER), or in that Kinesis record for a streamed row';

COMMENT ON COLUMN {{ database }}.{{ schema }}.{{ table }}.loaded_at IS
  'when Snowpipe loaded it (METADATA$START_SCAN_TIME), or when the stream consumer appended it';
