-- When Snowpipe fails to load a file, say so at once on the stage's LoadErrors topic (stack output
-- SnowflakeErrorTopicArn): the pipe's ERROR_INTEGRATION publishes one message per failed file,
-- which the SnowpipeLoadErrors alarm counts and the alarm email receives. The freshness alert
-- (V1.6.0) still catches what sends no error: a pipe that stopped, or nothing arriving.
-- https://docs.snowflake.com/en/user-guide/data-load-snowpipe-errors-sns
--
-- An outbound SNS notification integration, as the freshness alert's: through the same role
-- (output SnowflakeAlertRoleArn), which trusts this integration's own external ID too
-- (DESC NOTIFICATION INTEGRATION → SF_AWS_EXTERNAL_ID, stored as errorExternalId).
-- IF NOT EXISTS then ALTER, never replaced: a replaced integration gets a new external ID.
USE ROLE {{ admin_role }};

CREATE NOTIFICATION INTEGRATION IF NOT EXISTS {{ error_integration }}
  ENABLED = TRUE
  TYPE = QUEUE
  DIRECTION = OUTBOUND
  NOTIFICATION_PROVIDER = AWS_SNS
  AWS_SNS_TOPIC_ARN = '{{ error_topic_arn }}'
  AWS_SNS_ROLE_ARN = '{{ alert_role_arn }}'
  COMMENT = 'Snowgate: Snowpipe load errors to the stage LoadErrors topic';

ALTER NOTIFICATION INTEGRATION {{ error_integration }} SET
  AWS_SNS_TOPIC_ARN = '{{ error_topic_arn }}'
  AWS_SNS_ROLE_ARN = '{{ alert_role_arn }}'
  ENABLED = TRUE;

-- As the admin role, which holds the loader's ownership of the pipe through the role hierarchy and
-- owns the integration. A migration that recreates the pipe must set this again.
ALTER PIPE {{ database }}.{{ schema }}.{{ pipe }} SET ERROR_INTEGRATION = {{ error_integration }};
