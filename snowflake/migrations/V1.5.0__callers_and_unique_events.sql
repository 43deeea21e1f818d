-- Who sent each event, and one row per event without sorting all of history on every query.
--
-- 1. RAW_EVENTS gets AUTH and PRODUCER: how API Gateway authenticated the caller (apiKey, iam,
--    jwt; NULL when the stage checks nobody) and the caller in those terms (the API key's producer,
--    the SigV4 caller's ARN, the token's sub), from the envelope's "auth" and "producer".
--    Rows loaded before this migration keep NULL in both.
--
-- 2. The pipe's COPY reads them. A COPY cannot change in place, and a recreated pipe starts with an
--    empty load history (it is kept per pipe, not per table), so a plain REFRESH would load again
--    every file of the last 7 days. This follows Snowflake's procedure for changing a pipe's COPY
--    (https://docs.snowflake.com/en/user-guide/data-load-snowpipe-manage, "Modifying the COPY
--    statement in a pipe definition"), and loads only what the old pipe did not:
--      - pause the pipe, and note the time;
--      - wait until SYSTEM$PIPE_STATUS says PAUSED with pendingFileCount 0: a paused pipe still
--        loads the files queued before the pause, and nothing after it
--        (https://docs.snowflake.com/en/sql-reference/functions/system_pipe_status);
--      - recreate the pipe with the new COPY;
--      - ALTER PIPE … REFRESH MODIFIED_AFTER = <the pause>: files staged since then, which the old
--        pipe never loaded (https://docs.snowflake.com/en/sql-reference/sql/alter-pipe). The new pipe's
--        own load history then keeps their notifications from loading them twice.
--    A file staged just before the pause whose notification reached Snowflake only after it is in
--    neither: it shows in the stage and in no COPY_HISTORY (snowflake/README.md, "Changing the prefix
--    or the COPY", says how to find and load such a file once).
--    The block does nothing once the pipe reads "producer", so apply stays safe to rerun. If the
--    queue does not drain within 10 minutes, it resumes the old pipe unchanged and fails.
--
-- 3. RAW_EVENTS_UNIQUE: one row per event, kept by a dynamic table that refreshes incrementally
--    (only what changed since its last refresh), up to TARGET_LAG behind RAW_EVENTS. RAW_EVENTS_LATEST
--    (R__views.sql) reads it. The same event (docs/HTTP-CONTRACT.md): the same caller (AUTH, PRODUCER)
--    and the same id, of the same JSON type (1 and "1" are different ids); the latest received is kept.
--    REFRESH_MODE = INCREMENTAL: creation fails rather than fall back to full refreshes, which would
--    sort all of history again each time (https://docs.snowflake.com/en/user-guide/dynamic-tables/supported-queries).
--    Its first refresh reads all of RAW_EVENTS once; each later one only the rows loaded since.
USE ROLE {{ admin_role }};

USE SCHEMA {{ database }}.{{ schema }};

ALTER TABLE {{ database }}.{{ schema }}.{{ table }} ADD COLUMN IF NOT EXISTS auth VARCHAR
  COMMENT 'how the API authenticated the caller: apiKey, iam or jwt (NULL: auth mode none)';

ALTER TABLE {{ database }}.{{ schema }}.{{ table }} ADD COLUMN IF NOT EXISTS producer VARCHAR
  COMMENT 'the caller: the API key''s producer, the IAM ARN, or the JWT''s sub';

-- The pipe stays the loader's, as V1.4.0__pipe.sql made it.
USE ROLE {{ loader_role }};

USE SECONDARY ROLES NONE;

EXECUTE IMMEDIATE $$
DECLARE
  current_copy VARCHAR;
  pipe_status VARIANT;
  paused_at VARCHAR;
  waited INTEGER DEFAULT 0;
  not_drained EXCEPTION (-20001, 'the pipe still had files queued after 10 minutes paused; it was resumed unchanged: apply again');
BEGIN
  SHOW PIPES LIKE '{{ pipe }}' IN SCHEMA {{ database }}.{{ schema }};
  SELECT MAX("definition") INTO :current_copy FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()));
  IF (CONTAINS(current_copy, '$1:producer')) THEN
    RETURN 'the pipe already reads auth and producer';
  END IF;
  ALTER PIPE {{ database }}.{{ schema }}.{{ pipe }} SET PIPE_EXECUTION_PAUSED = TRUE;
  paused_at := TO_VARCHAR(CURRENT_TIMESTAMP(), 'YYYY-MM-DD"T"HH24:MI:SS.FF3TZH:TZM');
  LOOP
    pipe_status := PARSE_JSON(SYSTEM$PIPE_STATUS('{{ database }}.{{ schema }}.{{ pipe }}'));
    IF (pipe_status:executionState::VARCHAR = 'PAUSED' AND pipe_status:pendingFileCount::NUMBER = 0) THEN
      BREAK;
    END IF;
    IF (waited >= 600) THEN
      ALTER PIPE {{ database }}.{{ schema }}.{{ pipe }} SET PIPE_EXECUTION_PAUSED = FALSE;
      RAISE not_drained;
    END IF;
    SELECT SYSTEM$WAIT(10);
    waited := waited + 10;
  END LOOP;
  CREATE OR REPLACE PIPE {{ database }}.{{ schema }}.{{ pipe }}
    AUTO_INGEST = TRUE
    COMMENT = 'Snowgate: landing files into RAW_EVENTS'
    AS
    COPY INTO {{ database }}.{{ schema }}.{{ table }} (record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer)
    FROM (
      SELECT
        $1:record,
        $1:received_at::TIMESTAMP_TZ,
        $1:request_id::VARCHAR,
        METADATA$FILENAME,
        METADATA$FILE_ROW_NUMBER,
        METADATA$START_SCAN_TIME,
        $1:auth::VARCHAR,
        $1:producer::VARCHAR
      FROM @{{ database }}.{{ schema }}.{{ stage }}
    )
    FILE_FORMAT = (FORMAT_NAME = '{{ database }}.{{ schema }}.{{ file_format }}')
    ON_ERROR = SKIP_FILE;
  EXECUTE IMMEDIATE 'ALTER PIPE {{ database }}.{{ schema }}.{{ pipe }} REFRESH MODIFIED_AFTER = ''' || paused_at || '''';
  RETURN 'pipe recreated; files staged since ' || paused_at || ' queued for it';
END;
$$;

USE ROLE {{ admin_role }};

-- A recreated pipe has no grants: the reader's, again (V1.4.0__pipe.sql gave it to the old one).
GRANT MONITOR ON PIPE {{ database }}.{{ schema }}.{{ pipe }} TO ROLE {{ reader_role }};

CREATE DYNAMIC TABLE IF NOT EXISTS {{ database }}.{{ schema }}.RAW_EVENTS_UNIQUE
  TARGET_LAG = '15 minutes'
  WAREHOUSE = {{ warehouse }}
  REFRESH_MODE = INCREMENTAL
  COMMENT = 'Snowgate: one row per event (caller and id), the latest received; RAW_EVENTS_LATEST reads it'
  AS
  SELECT record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer
  FROM {{ database }}.{{ schema }}.{{ table }}
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY auth, producer, IS_VARCHAR(record:id), record:id::VARCHAR
    ORDER BY received_at DESC, loaded_at DESC, source_file DESC, file_row_number DESC
  ) = 1;
