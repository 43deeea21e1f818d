-- Removes what the migrations created, pipe first so that nothing loads while
-- the rest goes. The database and the warehouse stay: they were created only
-- if missing, and may hold other things. `pnpm snowflake:remove --stage <stage>`
-- runs this; RAW_EVENTS and its data go with the schema.
USE ROLE {{ admin_role }};

DROP PIPE IF EXISTS {{ database }}.{{ schema }}.{{ pipe }};

DROP STAGE IF EXISTS {{ database }}.{{ schema }}.{{ stage }};

DROP FILE FORMAT IF EXISTS {{ database }}.{{ schema }}.{{ file_format }};

USE DATABASE {{ database }};

DROP SCHEMA IF EXISTS {{ schema }} CASCADE;

DROP INTEGRATION IF EXISTS {{ integration }};

DROP ROLE IF EXISTS {{ reader_role }};

DROP ROLE IF EXISTS {{ loader_role }};
