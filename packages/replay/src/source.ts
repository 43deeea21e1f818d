import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { quarantineKeyMatches, quarantineObjectSchema, type QuarantineObject } from '@snowgate/core';

export interface QuarantineFilter {
  /** Received at or after (inclusive). */
  from?: Date | undefined;
  /** Received before (exclusive). */
  to?: Date | undefined;
  /** Only objects holding a record with one of these reasons (replay then takes only those records). */
  reasons?: readonly string[] | undefined;
  /** Only the object of this request (the `requestId` of its answer). */
  requestId?: string | undefined;
}

/** The receive time in a quarantine key (`…/<yyyymmddThhmmssSSSZ>-<request>-<uuid>.json`), without reading the object. */
export function keyTime(key: string): Date | undefined {
  const m = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[^/]*\.json$/.exec(key);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`) : undefined;
}

/**
 * The quarantine objects in a time range, oldest first: keys are listed from
 * the first date partition of the range (S3 lists in key order, and the keys
 * are date-partitioned), filtered by the time in the key, then read and, where
 * asked, filtered by reason. With a request id, only keys that carry it are
 * read, and the object must name it.
 */
export async function* listQuarantine(
  s3: S3Client,
  bucket: string,
  prefix: string,
  filter: QuarantineFilter,
): AsyncGenerator<{ key: string; object: QuarantineObject }> {
  const startAfter = filter.from ? `${prefix}dt=${filter.from.toISOString().slice(0, 10)}/` : undefined;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        ...(token ? {} : startAfter ? { StartAfter: startAfter } : {}),
      }),
    );
    for (const { Key: key } of page.Contents ?? []) {
      if (!key) continue;
      const at = keyTime(key);
      if (!at) continue;
      if (filter.from && at < filter.from) continue;
      if (filter.to && at >= filter.to) return;
      if (filter.requestId !== undefined && !quarantineKeyMatches(key, filter.requestId)) continue;
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const parsed = quarantineObjectSchema.safeParse(JSON.parse(await out.Body!.transformToString()));
      if (!parsed.success) throw new Error(`s3://${bucket}/${key} is not a Snowgate quarantine object: ${parsed.error.issues[0]?.message}`);
      if (filter.requestId !== undefined && parsed.data.request_id !== filter.requestId) continue;
      if (filter.reasons?.length && !parsed.data.reasons.some((r) => filter.reasons!.includes(r))) continue;
      yield { key, object: parsed.data };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
