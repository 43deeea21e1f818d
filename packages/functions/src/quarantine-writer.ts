import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Clock, type QuarantineObject, DownstreamUnavailableError, quarantineKey, systemClock, withDeadline } from '@snowgate/core';
import type { IngestSettings } from '@snowgate/config';
import { randomUUID } from 'node:crypto';

/**
 * Writes a quarantine object to the error bucket under a new unique key.
 * `If-None-Match: *` makes S3 refuse to replace an existing object, should a
 * key ever repeat. Resolves with the key once S3 has acknowledged it.
 */
export function createQuarantineWriter(
  s3: S3Client,
  settings: Pick<IngestSettings, 'errorBucket' | 'errorPrefix' | 'write'>,
  clock: Clock = systemClock,
) {
  return async function quarantine(object: QuarantineObject, deadline: number): Promise<string> {
    const key = quarantineKey(settings.errorPrefix, object.received_at, object.request_id, randomUUID());
    try {
      await withDeadline(
        (abortSignal) =>
          s3.send(
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
      throw new DownstreamUnavailableError(
        `error bucket did not store the rejected input: ${(cause as Error).name}: ${(cause as Error).message}`,
        settings.write.retryAfterSeconds,
        { cause },
      );
    }
    return key;
  };
}
