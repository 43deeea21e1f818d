-- Example queries over RAW_EVENTS' VARIANT column, in Snowflake's path syntax.
-- Not a migration: run them in a worksheet (as {{ reader_role }}), or try them on the
-- local twin first: pnpm query --dialect snowflake "<query>".
--
-- Start from RAW_EVENTS_LATEST: one row per event (docs/HTTP-CONTRACT.md), kept by a dynamic
-- table as rows load, so reading it sorts nothing and a filter on received_at skips what it can.
-- It is up to 15 minutes behind RAW_EVENTS: for the last few minutes, read RAW_EVENTS itself
-- and deduplicate only that window (the last example).

-- Events per type in the last hour.
SELECT record:type::VARCHAR AS type, COUNT(*) AS events
FROM RAW_EVENTS_LATEST
WHERE received_at >= DATEADD('hour', -1, CURRENT_TIMESTAMP())
GROUP BY 1
ORDER BY events DESC;

-- One user's events, newest first (a nested field, cast to a number).
SELECT record:id::VARCHAR AS id, record:type::VARCHAR AS type, received_at
FROM RAW_EVENTS_LATEST
WHERE record:user.id::NUMBER = 42
ORDER BY received_at DESC
LIMIT 100;

-- Items of an array field, one row each. (FLATTEN has no translation to DuckDB:
-- this one runs on Snowflake only.)
SELECT e.record:id::VARCHAR AS id, item.value:sku::VARCHAR AS sku, item.value:qty::NUMBER AS qty
FROM RAW_EVENTS_LATEST AS e,
  LATERAL FLATTEN(input => e.record:items) AS item;

-- Duplicates delivered (at least once): how many events arrived more than once today
-- (the same event: the same caller, and the same id of the same JSON type).
SELECT COUNT(*) AS events_with_duplicates
FROM (
  SELECT auth, producer, IS_VARCHAR(record:id) AS string_id, record:id::VARCHAR AS id
  FROM RAW_EVENTS
  WHERE received_at >= DATE_TRUNC('day', CURRENT_TIMESTAMP())
  GROUP BY 1, 2, 3, 4
  HAVING COUNT(*) > 1
);

-- Ingest latency percentiles over the last hour.
SELECT
  APPROX_PERCENTILE(latency_ms, 0.5) AS p50_ms,
  APPROX_PERCENTILE(latency_ms, 0.95) AS p95_ms,
  MAX(latency_ms) AS max_ms
FROM INGEST_LATENCY
WHERE received_at >= DATEADD('hour', -1, CURRENT_TIMESTAMP());

-- Up to the second: events per type in the last 15 minutes, from RAW_EVENTS, one row per event
-- within the window (only the window's rows are sorted; RAW_EVENTS_LATEST may not have them yet).
SELECT record:type::VARCHAR AS type, COUNT(*) AS events
FROM (
  SELECT record
  FROM RAW_EVENTS
  WHERE received_at >= DATEADD('minute', -15, CURRENT_TIMESTAMP())
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY auth, producer, IS_VARCHAR(record:id), record:id::VARCHAR
    ORDER BY received_at DESC
  ) = 1
)
GROUP BY 1
ORDER BY events DESC;
