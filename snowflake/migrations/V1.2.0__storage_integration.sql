-- Snowflake's access to the landing bucket: the role the AWS stack created
-- (output SnowflakeRoleArn), the external ID fixed in config/<stage>.json
-- (output SnowflakeExternalId), and only the landing prefix (output SnowflakeStageUrl).
-- Creating an integration needs ACCOUNTADMIN or the CREATE INTEGRATION privilege.
--
-- CREATE ... IF NOT EXISTS then ALTER, never CREATE OR REPLACE: a stage is linked
-- to its integration by a hidden ID, so a replaced integration silently breaks the
-- stage until it is re-linked (ALTER STAGE ... SET STORAGE_INTEGRATION), and without a
-- fixed external ID it would also get a new one
-- (https://docs.snowflake.com/en/user-guide/data-load-s3-config-storage-integration).
-- ALTER ... SET is how a changed role ARN, external ID or prefix reaches it.
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
