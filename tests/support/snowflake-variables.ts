import type { SnowflakeVariables } from '@snowgate/snowflake';

/** A stage `dev`'s SQL variables, as `snowflakeVariables` renders them from its config and stack outputs (the tests' one copy). */
export const DEV_VARIABLES: SnowflakeVariables = {
  admin_role: 'ACCOUNTADMIN',
  database: 'SNOWGATE',
  schema: 'DEV',
  warehouse: 'SNOWGATE_WH',
  loader_role: 'SNOWGATE_DEV_LOADER',
  reader_role: 'SNOWGATE_DEV_READER',
  integration: 'SNOWGATE_DEV_S3',
  file_format: 'NDJSON_ENVELOPE',
  stage: 'LANDING',
  table: 'RAW_EVENTS',
  pipe: 'RAW_EVENTS_PIPE',
  streaming_pipe: 'RAW_EVENTS_STREAMING_PIPE',
  alert: 'LOAD_FRESHNESS_ALERT',
  alert_integration: 'SNOWGATE_DEV_ALERTS',
  alert_topic_arn: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Alarms-AlarmTopic1A2B',
  alert_role_arn: 'arn:aws:iam::123456789012:role/dev-snowgate-snowflake-alerts',
  error_integration: 'SNOWGATE_DEV_LOAD_ERRORS',
  error_topic_arn: 'arn:aws:sns:us-east-1:123456789012:dev-snowgate-Snowflake-LoadErrors1A2B',
  freshness_minutes: '60',
  aws_role_arn: 'arn:aws:iam::123456789012:role/dev-snowgate-snowflake',
  external_id: 'snowgate-dev',
  stage_url: 's3://dev-landing-1a2b/events/',
};
