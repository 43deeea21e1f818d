/**
 * What the ingest handler uses of the S3 SDK, in a module of its own: the
 * Lambda's entry and the quarantine writer import it dynamically, on first use,
 * so that a cold start that quarantines nothing neither loads nor builds the S3
 * client. (A dynamic import of `@aws-sdk/client-s3` itself would bundle every
 * S3 command: an import() keeps the whole namespace.)
 */
export { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
