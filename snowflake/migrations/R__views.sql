-- Views for operators and analysts. Repeatable: re-created on every apply, keeping
-- their grants (COPY GRANTS) so that readers never lose access in between.
-- The local twin's DuckDB has RAW_EVENTS_LATEST, INGEST_LATENCY, COPY_HISTORY_RECENT,
-- LOAD_FAILURES and LOAD_FRESHNESS too, with the same columns, so a query can be tried locally first.
USE ROLE {{ admin_role }};

USE SCHEMA {{ database }}.{{ schema }};

-- At-least-once delivery means an event can arrive twice (a producer's retry after a 503):
-- one row per event, the latest received, as the dynamic table RAW_EVENTS_UNIQUE keeps it
-- (V1.5.0__callers_and_unique_events.sql: what counts as the same event, and its target lag).
-- Reading it sorts nothing; rows loaded in the last few minutes may not be in it yet.
CREATE OR REPLACE VIEW {{ database }}.{{ schema }}.RAW_EVENTS_LATEST COPY GRANTS
  COMMENT = 'Snowgate: one row per event (caller and id), the latest received; up to 15 minutes behind RAW_EVENTS'
  AS
  SELECT record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer
  FROM {{ database }}.{{ schema }}.RAW_EVENTS_UNIQUE;

-- From the API's acknowledgement to queryable, per row.
CREATE OR REPLACE VIEW {{ database }}.{{ schema }}.INGEST_LATENCY COPY GRANTS
  COMMENT = 'Snowgate: milliseconds from accepted by the API to loaded'
  AS
  SELECT
    source_file,
    request_id,
    received_at,
    loaded_at,
    DATEDIFF('millisecond', received_at, loaded_at) AS latency_ms
  FROM {{ database }}.{{ schema }}.{{ table }};

-- Files loaded or skipped in the last 24 hours (INFORMATION_SCHEMA keeps 14 days).
-- Status as the twin writes it: LOADED, LOAD_FAILED, PARTIALLY_LOADED, LOAD_IN_PROGRESS, LOAD_SKIPPED.
CREATE OR REPLACE VIEW {{ database }}.{{ schema }}.COPY_HISTORY_RECENT COPY GRANTS
  COMMENT = 'Snowgate: files loaded or skipped by the pipe in the last 24 hours'
  AS
  SELECT
    file_name,
    UPPER(REPLACE(status, ' ', '_')) AS status,
    row_count,
    row_parsed,
    first_error_message,
    first_error_line_number,
    last_load_time
  FROM TABLE(
    {{ database }}.INFORMATION_SCHEMA.COPY_HISTORY(
      TABLE_NAME => '{{ database }}.{{ schema }}.{{ table }}',
      START_TIME => DATEADD('hour', -24, CURRENT_TIMESTAMP())
    )
  );

-- Files that failed (ON_ERROR = SKIP_FILE skips them whole): what to fix and replay.
CREATE OR REPLACE VIEW {{ database }}.{{ schema }}.LOAD_FAILURES COPY GRANTS
  COMMENT = 'Snowgate: files the pipe skipped in the last 24 hours, with their first error'
  AS
  SELECT file_name, status, row_parsed, first_error_message, first_error_line_number, last_load_time
  FROM {{ database }}.{{ schema }}.COPY_HISTORY_RECENT
  WHERE status IN ('LOAD_FAILED', 'PARTIALLY_LOADED');

-- Is Snowpipe keeping up? The newest loaded row, and the files loaded and skipped in the last
-- hour. The freshness alert (V1.6.0__freshness_alert.sql) reads it beside PIPE_STATUS.
CREATE OR REPLACE VIEW {{ database }}.{{ schema }}.LOAD_FRESHNESS COPY GRANTS
  COMMENT = 'Snowgate: the newest loaded row, and the files loaded and skipped in the last hour'
  AS
  SELECT
    (SELECT MAX(loaded_at) FROM {{ database }}.{{ schema }}.{{ table }}) AS newest_loaded_at,
    DATEDIFF('minute', (SELECT MAX(loaded_at) FROM {{ database }}.{{ schema }}.{{ table }}), CURRENT_TIMESTAMP()) AS minutes_since_load,
    (
      SELECT COUNT(*) FROM {{ database }}.{{ schema }}.COPY_HISTORY_RECENT
      WHERE status = 'LOADED' AND last_load_time >= DATEADD('hour', -1, CURRENT_TIMESTAMP())
    ) AS files_loaded_last_hour,
    (
      SELECT COUNT(*) FROM {{ database }}.{{ schema }}.COPY_HISTORY_RECENT
      WHERE status IN ('LOAD_FAILED', 'PARTIALLY_LOADED') AND last_load_time >= DATEADD('hour', -1, CURRENT_TIMESTAMP())
    ) AS files_failed_last_hour;

-- Is the pipe running, and how far behind is it?
CREATE OR REPLACE VIEW {{ database }}.{{ schema }}.PIPE_STATUS COPY GRANTS
  COMMENT = 'Snowgate: SYSTEM$PIPE_STATUS of the pipe, as columns'
  AS
  SELECT
    s.value:executionState::VARCHAR AS execution_state,
    s.value:pendingFileCount::NUMBER AS pending_file_count,
    s.value:lastIngestedTimestamp::TIMESTAMP_LTZ AS last_ingested_at,
    s.value:lastIngestedFilePath::VARCHAR AS last_ingested_file,
    s.value:lastReceivedMessageTimestamp::TIMESTAMP_LTZ AS last_notification_at,
    s.value:notificationChannelName::VARCHAR AS notification_channel,
    s.value:error::VARCHAR AS error,
    s.value AS raw_status
  FROM (SELECT PARSE_JSON(SYSTEM$PIPE_STATUS('{{ database }}.{{ schema }}.{{ pipe }}')) AS value) AS s;

-- View by view, not ON ALL VIEWS: the reader gets exactly these.
GRANT SELECT ON VIEW {{ database }}.{{ schema }}.RAW_EVENTS_LATEST TO ROLE {{ reader_role }};

GRANT SELECT ON VIEW {{ database }}.{{ schema }}.INGEST_LATENCY TO ROLE {{ reader_role }};

GRANT SELECT ON VIEW {{ database }}.{{ schema }}.COPY_HISTORY_RECENT TO ROLE {{ reader_role }};

GRANT SELECT ON VIEW {{ database }}.{{ schema }}.LOAD_FAILURES TO ROLE {{ reader_role }};

GRANT SELECT ON VIEW {{ database }}.{{ schema }}.LOAD_FRESHNESS TO ROLE {{ reader_role }};

GRANT SELECT ON VIEW {{ database }}.{{ schema }}.PIPE_STATUS TO ROLE {{ reader_role }};
