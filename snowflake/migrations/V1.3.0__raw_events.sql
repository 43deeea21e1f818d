-- The landing files, and the table they load into.
--
-- Each landing file is NDJSON: one Snowgate envelope per line,
--   {"received_at": "...", "request_id": "...", "record": { ... } }
-- ALLOW_DUPLICATE = TRUE: the ingest API rejects a record that repeats a key in
-- any object (duplicate_key, docs/decisions/011), so no line Snowgate writes has
-- one. A line from elsewhere (a file put in the landing prefix by hand) still
-- loads, with the last value of a repeated key, rather than failing its whole
-- file and the other records in it (ON_ERROR = SKIP_FILE). The twin does the same.
USE ROLE {{ admin_role }};

USE SCHEMA {{ database }}.{{ schema }};

CREATE FILE FORMAT IF NOT EXISTS {{ database }}.{{ schema }}.{{ file_format }}
  TYPE = JSON
  STRIP_OUTER_ARRAY = FALSE
  ALLOW_DUPLICATE = TRUE
  STRIP_NULL_VALUES = FALSE
  IGNORE_UTF8_ERRORS = FALSE
  COMPRESSION = AUTO
  COMMENT = 'Snowgate: Firehose NDJSON landing files';

-- The trailing slash matters: without it the stage would also match sibling prefixes.
-- IF NOT EXISTS: an existing stage keeps its URL. A changed prefix needs the stage and
-- the pipe recreated (Snowflake's rule); apply detects it and says how (snowflake/README.md).
CREATE STAGE IF NOT EXISTS {{ database }}.{{ schema }}.{{ stage }}
  URL = '{{ stage_url }}'
  STORAGE_INTEGRATION = {{ integration }}
  FILE_FORMAT = (FORMAT_NAME = '{{ database }}.{{ schema }}.{{ file_format }}')
  COMMENT = 'Snowgate: the landing prefix';

CREATE TABLE IF NOT EXISTS {{ database }}.{{ schema }}.{{ table }} (
  record VARIANT NOT NULL COMMENT 'the event as the producer sent it',
  received_at TIMESTAMP_TZ NOT NULL COMMENT 'when the ingest API accepted it',
  request_id VARCHAR NOT NULL COMMENT 'the ingest request (the API answer''s requestId)',
  source_file VARCHAR NOT NULL COMMENT 'the landing file (METADATA$FILENAME)',
  file_row_number NUMBER(38, 0) NOT NULL COMMENT 'its line in that file (METADATA$FILE_ROW_NUMBER)',
  loaded_at TIMESTAMP_LTZ NOT NULL COMMENT 'when Snowpipe loaded it (METADATA$START_SCAN_TIME)'
)
  COMMENT = 'Snowgate: every accepted event, at least once; see RAW_EVENTS_LATEST for one row per id';

GRANT USAGE ON FILE FORMAT {{ database }}.{{ schema }}.{{ file_format }} TO ROLE {{ loader_role }};

GRANT USAGE ON STAGE {{ database }}.{{ schema }}.{{ stage }} TO ROLE {{ loader_role }};

GRANT SELECT, INSERT ON TABLE {{ database }}.{{ schema }}.{{ table }} TO ROLE {{ loader_role }};

GRANT SELECT ON TABLE {{ database }}.{{ schema }}.{{ table }} TO ROLE {{ reader_role }};
