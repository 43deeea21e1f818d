import type { S3Client } from '@aws-sdk/client-s3';
import type { IngestSettings } from '@snowgate/config';
import {
  type Clock,
  DownstreamMisconfiguredError,
  DownstreamUnavailableError,
  isRetryableError,
  type QuarantineObject,
  quarantineKey,
  systemClock,
  withDeadline,
} from '@snowgate/core';
import { randomUUID } from 'node:crypto';

/**
 * The error bucket's client, or a function that makes it when the first
 * object is written: the Lambda's entry passes one, so that a cold start that
 * quarantines nothing neither loads nor builds the S3 client.
 */
export type S3ClientSource = S3Client | (() => Promise<S3Client>);

/**
 * Writes a quarantine object to the error bucket under a new unique key.
 * `If-None-Match: *` makes S3 refuse to replace an existing object, should a
 * key ever repeat. Resolves with the key once S3 has acknowledged it.
 */
export function createQuarantineWriter(
  s3: S3ClientSource,
  settings: Pick<IngestSettings, 'errorBucket' | 'errorPrefix' | 'write'>,
  clock: Clock = systemClock,
) {
  const writer = lazily(async () => {
    // Imported here, not at the top: in the Lambda's bundle the S3 SDK is then loaded and evaluated on first use only.
    const [client, { PutObjectCommand }] = await Promise.all([typeof s3 === 'function' ? s3() : s3, import('./s3')]);
    return { client, PutObjectCommand };
  });
  return async function quarantine(object: QuarantineObject, deadline: number): Promise<string> {
    const key = quarantineKey(settings.errorPrefix, object.received_at, object.request_id, randomUUID());
    const { client, PutObjectCommand } = await writer();
    try {
      await withDeadline(
        (abortSignal) =>
          client.send(
            new PutObjectCommand({
              Bucket: settings.errorBucket,
              Key: key,
              Body: JSON.stringify(object),
              ContentType: 'application/json',
              IfNoneMatch: '*',
            }),
            { abortSignal },
          ),
        deadline,
        clock,
      );
    } catch (cause) {
      // The key is new (a random UUID in it): "already exists" can only mean that an earlier attempt of this very
      // write (the SDK's retry after a lost answer) stored it. It is durable; answering 503 would quarantine it twice.
      if (
        (cause as Error).name === 'PreconditionFailed' ||
        (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412
      )
        return key;
      // No such bucket, access denied, the bucket's KMS key disabled: a later attempt fails the same way.
      if (!isRetryableError(cause)) {
        throw new DownstreamMisconfiguredError(
          `error bucket refused the rejected input, and would refuse it again: ${(cause as Error).name}: ${(cause as Error).message}`,
          { cause },
        );
      }
      throw new DownstreamUnavailableError(
        `error bucket did not store the rejected input: ${(cause as Error).name}: ${(cause as Error).message}`,
        settings.write.retryAfterSeconds,
        { cause },
      );
    }
    return key;
  };
}

/** `make`, called once, on first use; called again after a failure. */
function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
}
