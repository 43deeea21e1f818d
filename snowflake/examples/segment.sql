-- Messages sent with the Segment or RudderStack SDKs (POST /v1/batch, /v1/<call>;
-- docs/SEGMENT.md): one row per message, the tracking spec's fields. Each record is
-- the message as sent, plus its id (= messageId) and, for a single call, its type.
-- Segment's SDKs send `timestamp`; RudderStack's send `originalTimestamp`.
-- Try it on the local twin first: pnpm query --dialect snowflake "<query>".
SELECT
  record:messageId::VARCHAR AS message_id,
  record:type::VARCHAR AS type,
  record:event::VARCHAR AS event,
  record:userId::VARCHAR AS user_id,
  record:anonymousId::VARCHAR AS anonymous_id,
  record:properties AS properties,
  TRY_CAST(COALESCE(record:timestamp::VARCHAR, record:originalTimestamp::VARCHAR) AS TIMESTAMP_TZ) AS event_time,
  received_at
FROM RAW_EVENTS_LATEST
WHERE record:messageId::VARCHAR IS NOT NULL
ORDER BY event_time, message_id;
