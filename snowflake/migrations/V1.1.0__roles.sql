-- Two roles, each with only what it needs:
--   {{ loader_role }} owns the pipe, so Snowpipe loads with exactly its privileges:
--     read the stage, use the file format, insert into (and select from) RAW_EVENTS.
--   {{ reader_role }} is for analysts: select on the table and views, a warehouse to run on,
--     and MONITOR on the pipe for the status view.
-- Both are granted to the deploying role, which keeps the role hierarchy intact.
USE ROLE {{ admin_role }};

CREATE ROLE IF NOT EXISTS {{ loader_role }} COMMENT = 'Snowgate: owns the pipe that loads RAW_EVENTS';

CREATE ROLE IF NOT EXISTS {{ reader_role }} COMMENT = 'Snowgate: reads RAW_EVENTS and its views';

GRANT ROLE {{ loader_role }} TO ROLE {{ admin_role }};

GRANT ROLE {{ reader_role }} TO ROLE {{ admin_role }};

GRANT USAGE ON DATABASE {{ database }} TO ROLE {{ loader_role }};

GRANT USAGE ON SCHEMA {{ database }}.{{ schema }} TO ROLE {{ loader_role }};

GRANT CREATE PIPE ON SCHEMA {{ database }}.{{ schema }} TO ROLE {{ loader_role }};

GRANT USAGE ON DATABASE {{ database }} TO ROLE {{ reader_role }};

GRANT USAGE ON SCHEMA {{ database }}.{{ schema }} TO ROLE {{ reader_role }};

GRANT USAGE ON WAREHOUSE {{ warehouse }} TO ROLE {{ reader_role }};
