import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { StackContext } from 'sst/constructs';
import { stageConfig } from './config';
import { suppress } from './nag';

/** Where `pnpm replay` keeps its ledger and lock in the error bucket (packages/replay/src/ledger.ts). */
export const REPLAY_PREFIX = 'replays/';

/** The landing bucket (Firehose writes, Snowflake reads) and the error bucket (quarantined input). */
export function Storage({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const common: s3.BucketProps = {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    // Production keeps its data when the stack goes; other stages clean up after themselves.
    removalPolicy: config.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    autoDeleteObjects: !config.production,
  };

  const landing = new s3.Bucket(stack, 'Landing', {
    ...common,
    lifecycleRules: [
      { id: 'expire-landed-files', prefix: config.firehose.prefix, expiration: Duration.days(config.buckets.landingExpirationDays) },
      {
        id: 'expire-firehose-errors',
        prefix: config.firehose.errorPrefix,
        expiration: Duration.days(config.buckets.firehoseErrorsExpirationDays),
      },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });

  const errors = new s3.Bucket(stack, 'Errors', {
    ...common,
    lifecycleRules: [
      {
        id: 'age-quarantine',
        prefix: config.buckets.errorPrefix,
        transitions: [
          { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(config.buckets.errorsInfrequentAccessDays) },
        ],
        expiration: Duration.days(config.buckets.errorsExpirationDays),
      },
      // `pnpm replay`'s ledger (which records were sent again) lives as long as the quarantine it describes.
      { id: 'expire-replay-ledger', prefix: REPLAY_PREFIX, expiration: Duration.days(config.buckets.errorsExpirationDays) },
    ],
  });

  suppress(landing, [
    {
      id: 'AwsSolutions-S1',
      reason:
        'Written only by Firehose and read only by Snowflake, both through roles in this app; CloudTrail data events are the audit trail where one is required',
    },
  ]);
  suppress(errors, [
    { id: 'AwsSolutions-S1', reason: 'Written only by the ingest Lambda; each object already records its request id, source IP and time' },
  ]);

  stack.addOutputs({ LandingBucket: landing.bucketName, ErrorBucket: errors.bucketName });
  return { landing, errors };
}
