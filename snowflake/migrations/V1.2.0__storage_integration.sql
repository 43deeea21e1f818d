-- Snowflake's access to the landing bucket: the role the AWS stack created
-- (output SnowflakeRoleArn), the external ID fixed in config/<stage>.json
-- (output SnowflakeExternalId), and only the landing prefix (output SnowflakeStageUrl).
-- Creating an integration needs ACCOUNTADMIN or the CREATE INTEGRATION privilege.
--
-- CREATE ... IF NOT EXISTS then ALTER, never CREATE OR REPLACE: replacing an
-- integration gives it a new IAM user, and the stack's trust policy would no
-- longer match (https://docs.snowflake.com/en/user-guide/data-load-s3-config-storage-integration).
USE ROLE {{ admin_role }};

CREATE STORAGE INTEGRATION IF NOT EXISTS {{ integration }}
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = '{{ aws_role_arn }}'
  STORAGE_AWS_EXTERNAL_ID = '{{ external_id }}'
  STORAGE_ALLOWED_LOCATIONS = ('{{ stage_url }}')
  COMMENT = 'Snowgate: reads the landing prefix';

ALTER STORAGE INTEGRATION {{ integration }} SET
  STORAGE_AWS_ROLE_ARN = '{{ aws_role_arn }}'
  STORAGE_AWS_EXTERNAL_ID = '{{ external_id }}'
  STORAGE_ALLOWED_LOCATIONS = ('{{ stage_url }}')
  ENABLED = TRUE;
