-- Removes what the migrations created, pipes first so that nothing loads while
-- the rest goes, then the freshness alert (it would fire on a pipe that is gone);
-- the migration history last, so that the next apply runs every migration again;
-- RAW_EVENTS and its data go too, except on a production stage, where
-- `pnpm snowflake:remove` skips that one statement. The database, the schema and the
-- warehouse stay: they were created only if missing, and may hold other things
-- (drop an empty schema by hand). `pnpm snowflake:remove --stage <stage> --yes` runs this.
USE ROLE {{ admin_role }};

DROP PIPE IF EXISTS {{ database }}.{{ schema }}.{{ pipe }};

DROP PIPE IF EXISTS {{ database }}.{{ schema }}.{{ streaming_pipe }};

DROP ALERT IF EXISTS {{ database }}.{{ schema }}.{{ alert }};

DROP VIEW IF EXISTS {{ database }}.{{ schema }}.LOAD_FRESHNESS;

DROP VIEW IF EXISTS {{ database }}.{{ schema }}.PIPE_STATUS;

DROP VIEW IF EXISTS {{ database }}.{{ schema }}.LOAD_FAILURES;

DROP VIEW IF EXISTS {{ database }}.{{ schema }}.COPY_HISTORY_RECENT;

DROP VIEW IF EXISTS {{ database }}.{{ schema }}.INGEST_LATENCY;

DROP VIEW IF EXISTS {{ database }}.{{ schema }}.RAW_EVENTS_LATEST;

DROP DYNAMIC TABLE IF EXISTS {{ database }}.{{ schema }}.RAW_EVENTS_UNIQUE;

DROP STAGE IF EXISTS {{ database }}.{{ schema }}.{{ stage }};

DROP FILE FORMAT IF EXISTS {{ database }}.{{ schema }}.{{ file_format }};

DROP TABLE IF EXISTS {{ database }}.{{ schema }}.{{ table }};

DROP INTEGRATION IF EXISTS {{ integration }};

DROP INTEGRATION IF EXISTS {{ alert_integration }};

DROP INTEGRATION IF EXISTS {{ error_integration }};

DROP ROLE IF EXISTS {{ reader_role }};

DROP ROLE IF EXISTS {{ loader_role }};

-- Last: until everything above is gone, a rerun of the migrations must not think them applied.
DROP TABLE IF EXISTS {{ database }}.{{ schema }}.MIGRATION_HISTORY;
