-- When loads stop, say so on the stage's alarm topic (output AlarmTopic), as the AWS alarms do.
-- ON_ERROR = SKIP_FILE skips a file for one bad line and Snowpipe retries nothing; a broken
-- pipe, integration or role stops every load. The API keeps answering 2xx either way, and
-- recovery gets harder each day: ALTER PIPE … REFRESH reaches 7 days, COPY_HISTORY 14, and
-- the landing files expire after 30 (docs/TROUBLESHOOTING.md, "When loads stop").
--
-- An outbound notification integration publishes to the SNS topic through the role the stack
-- made for it (output SnowflakeAlertRoleArn), which trusts Snowflake's IAM user with the
-- integration's own external ID (DESC NOTIFICATION INTEGRATION → SF_AWS_EXTERNAL_ID; apply
-- writes it to config/<stage>.snowflake.json for the next deploy).
-- https://docs.snowflake.com/en/user-guide/notifications/creating-notification-integration-amazon-sns
-- IF NOT EXISTS then ALTER, as for the storage integration: a replaced integration gets a new
-- external ID, and the role would stop trusting it.
USE ROLE {{ admin_role }};

CREATE NOTIFICATION INTEGRATION IF NOT EXISTS {{ alert_integration }}
  ENABLED = TRUE
  TYPE = QUEUE
  DIRECTION = OUTBOUND
  NOTIFICATION_PROVIDER = AWS_SNS
  AWS_SNS_TOPIC_ARN = '{{ alert_topic_arn }}'
  AWS_SNS_ROLE_ARN = '{{ alert_role_arn }}'
  COMMENT = 'Snowgate: load alerts to the stage alarm topic';

ALTER NOTIFICATION INTEGRATION {{ alert_integration }} SET
  AWS_SNS_TOPIC_ARN = '{{ alert_topic_arn }}'
  AWS_SNS_ROLE_ARN = '{{ alert_role_arn }}'
  ENABLED = TRUE;

USE SCHEMA {{ database }}.{{ schema }};

-- Every 15 minutes, serverless (no WAREHOUSE: a warehouse would resume for a minute each time).
-- It fires when
--   * the pipe has files to load (pending, or announced after the newest loaded row) or is not
--     RUNNING, and nothing loaded for {{ freshness_minutes }} minutes (alarms.loadFreshnessMinutes); or
--   * the pipe skipped a file since the alert last ran (LOAD_FAILURES).
-- An idle stage (no files) stays quiet. While loads stay stopped it fires again every 15 minutes.
-- CREATE OR REPLACE: an alert holds no state worth keeping; it is created suspended, so RESUME follows.
-- https://docs.snowflake.com/en/sql-reference/sql/create-alert
-- https://docs.snowflake.com/en/sql-reference/stored-procedures/system_send_snowflake_notification
CREATE OR REPLACE ALERT {{ database }}.{{ schema }}.{{ alert }}
  SCHEDULE = '15 MINUTE'
  COMMENT = 'Snowgate: files land but nothing loads, or the pipe skipped a file'
  IF (EXISTS (
    SELECT 1
    FROM {{ database }}.{{ schema }}.LOAD_FRESHNESS AS f
    CROSS JOIN {{ database }}.{{ schema }}.PIPE_STATUS AS p
    WHERE (f.newest_loaded_at IS NULL OR f.newest_loaded_at < DATEADD('minute', -{{ freshness_minutes }}, CURRENT_TIMESTAMP()))
      AND (
        p.pending_file_count > 0
        OR p.last_notification_at > COALESCE(f.newest_loaded_at, TO_TIMESTAMP_LTZ(0))
        OR p.execution_state <> 'RUNNING'
      )
    UNION ALL
    SELECT 1
    FROM {{ database }}.{{ schema }}.LOAD_FAILURES
    WHERE last_load_time > COALESCE(SNOWFLAKE.ALERT.LAST_SUCCESSFUL_SCHEDULED_TIME(), DATEADD('minute', -15, SNOWFLAKE.ALERT.SCHEDULED_TIME()))
  ))
  THEN
    CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(
      SNOWFLAKE.NOTIFICATION.APPLICATION_JSON('{"AlarmName": "snowgate-{{ schema }}-SnowflakeLoads", "NewStateValue": "ALARM", "NewStateReason": "Snowflake {{ database }}.{{ schema }}: files wait but nothing loaded for {{ freshness_minutes }} minutes, or the pipe skipped a file. SELECT * FROM LOAD_FRESHNESS, PIPE_STATUS, LOAD_FAILURES; then docs/TROUBLESHOOTING.md, When loads stop."}'),
      SNOWFLAKE.NOTIFICATION.INTEGRATION('{{ alert_integration }}')
    );

ALTER ALERT {{ database }}.{{ schema }}.{{ alert }} RESUME;
