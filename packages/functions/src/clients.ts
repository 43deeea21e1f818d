import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { httpHandler, kinesisClientOptions, s3ClientOptions, type ClientSettings, type StaticCredentials } from './client-options';

/** Credentials the twin's emulators (kinesalite, s3rver) accept; nothing leaves the machine. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The SDK clients the handler writes with, as the local twin, the CLIs and the
 * tests build them (the Lambda's entry builds the same from `client-options.ts`,
 * the S3 one on first use). One HTTP/1.1 keep-alive handler for both.
 */
export function createClients(settings: ClientSettings, credentials?: StaticCredentials) {
  const requestHandler = httpHandler();
  return {
    kinesis: new KinesisClient(kinesisClientOptions(settings, credentials, requestHandler)),
    s3: new S3Client(s3ClientOptions(settings, credentials, requestHandler)),
  };
}
