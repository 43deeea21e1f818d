-- Where Snowgate's objects live: a database, a schema and a small warehouse for
-- the analysts' queries (Snowpipe itself is serverless and needs none).
-- Run by the deploying role ({{ admin_role }}); IF NOT EXISTS keeps a re-apply harmless.
USE ROLE {{ admin_role }};

CREATE DATABASE IF NOT EXISTS {{ database }};

CREATE SCHEMA IF NOT EXISTS {{ database }}.{{ schema }};

CREATE WAREHOUSE IF NOT EXISTS {{ warehouse }}
  WAREHOUSE_SIZE = XSMALL
  AUTO_SUSPEND = 60
  AUTO_RESUME = TRUE
  INITIALLY_SUSPENDED = TRUE;

USE SCHEMA {{ database }}.{{ schema }};
