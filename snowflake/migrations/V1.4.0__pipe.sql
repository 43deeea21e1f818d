-- The pipe: auto-ingest from the bucket's ObjectCreated notifications (the SQS
-- queue SHOW PIPES reports as notification_channel; the stack subscribes the
-- landing prefix to it once config/<stage>.snowflake.json names it).
--
-- Created by {{ loader_role }}, so that it owns the pipe and Snowpipe loads with that
-- role's privileges only. loaded_at is METADATA$START_SCAN_TIME: Snowflake
-- advises against CURRENT_TIMESTAMP() in a pipe's COPY (it can be hours early).
-- ON_ERROR = SKIP_FILE: a file with a bad row loads nothing and shows in
-- COPY_HISTORY with its first error (the LOAD_FAILURES view).
-- IF NOT EXISTS: a pipe's COPY cannot be changed in place. apply compares the
-- existing pipe's definition with this one and stops on a difference (snowflake/README.md).
USE ROLE {{ loader_role }};

-- Only the loader's own privileges: creating the pipe proves it has what Snowpipe will use.
USE SECONDARY ROLES NONE;

CREATE PIPE IF NOT EXISTS {{ database }}.{{ schema }}.{{ pipe }}
  AUTO_INGEST = TRUE
  COMMENT = 'Snowgate: landing files into RAW_EVENTS'
  AS
  COPY INTO {{ database }}.{{ schema }}.{{ table }} (record, received_at, request_id, source_file, file_row_number, loaded_at)
  FROM (
    SELECT
      $1:record,
      $1:received_at::TIMESTAMP_TZ,
      $1:request_id::VARCHAR,
      METADATA$FILENAME,
      METADATA$FILE_ROW_NUMBER,
      METADATA$START_SCAN_TIME
    FROM @{{ database }}.{{ schema }}.{{ stage }}
  )
  FILE_FORMAT = (FORMAT_NAME = '{{ database }}.{{ schema }}.{{ file_format }}')
  ON_ERROR = SKIP_FILE;

USE ROLE {{ admin_role }};

GRANT MONITOR ON PIPE {{ database }}.{{ schema }}.{{ pipe }} TO ROLE {{ reader_role }};
