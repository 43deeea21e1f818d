import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { normalizeOrigin } from './cors';
import * as z from './zod';

/**
 * API keys for producers that can sign neither SigV4 nor obtain a JWT.
 *
 * A key reads `sg_<key id>_<secret>`: the id (public, 12 characters) names the
 * record to look up, so that checking a key costs one read, not a scan; the
 * secret (32 random bytes, base64url) is never stored: the record keeps its
 * SHA-256. A 256-bit random secret needs no slow hash (there is nothing to guess),
 * and a stolen record does not give the key.
 */
export const API_KEY_PREFIX = 'sg_';
/** A key id: public, and safe as a file or parameter name. */
export const API_KEY_ID = /^[a-z0-9]{12}$/;
const KEY = /^sg_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** A producer's name: it lands in every envelope and quarantine object of its requests. */
export const producerNameSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a producer name: letters, digits, ".", "_" or "-", up to 64'));

export const apiKeyRecordSchema = z.object({
  schema: z.literal('snowgate.api-key/v1'),
  key_id: z.string().check(z.regex(API_KEY_ID)),
  producer: producerNameSchema,
  /** SHA-256 of the secret, hex. */
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  enabled: z.boolean(),
  created_at: z.iso.datetime(),
  revoked_at: z.optional(z.iso.datetime()),
  /**
   * A browser key's origins (`https://shop.example`): a request with this key from a page of any other
   * origin, or with no Origin at all, is refused. Such a key works only on the routes that check the Origin
   * of each request (the SDK routes), never behind a cache keyed on the key alone.
   */
  allowed_origins: z.optional(
    z.array(z.string().check(z.refine((o) => normalizeOrigin(o) === o, 'a lower-case origin: https://shop.example'))),
  ),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** Where key records are kept: SSM Parameter Store in AWS, a directory in the twin. */
export interface ApiKeyStore {
  get(keyId: string): Promise<ApiKeyRecord | undefined>;
  put(record: ApiKeyRecord): Promise<void>;
  list(): Promise<ApiKeyRecord[]>;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * A new key for a producer: the key itself (shown once, never stored) and the record to store.
 *
 * @example
 * const { key, record } = generateApiKey('acme-web'); // key: 'sg_k3x9…_…', record.sha256: '…'
 */
export function generateApiKey(
  producer: string,
  now = new Date(),
  allowedOrigins: readonly string[] = [],
): { key: string; record: ApiKeyRecord } {
  const keyId = Array.from(randomBytes(12), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  const secret = randomBytes(32).toString('base64url');
  const record: ApiKeyRecord = {
    schema: 'snowgate.api-key/v1',
    key_id: keyId,
    producer: producerNameSchema.parse(producer),
    sha256: sha256(secret).toString('hex'),
    enabled: true,
    created_at: now.toISOString(),
    ...(allowedOrigins.length > 0 ? { allowed_origins: allowedOrigins.map((o) => normalizeOrigin(o) ?? o) } : {}),
  };
  apiKeyRecordSchema.parse(record);
  return { key: `${API_KEY_PREFIX}${keyId}_${secret}`, record };
}

export type ApiKeyVerdict =
  | { ok: true; producer: string; keyId: string; allowedOrigins?: string[] }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked' | 'mismatch' | 'origin' };

/** Compared against when the key id is unknown, so that an unknown id costs what a wrong secret costs. */
const DUMMY = sha256('snowgate: no such key');

/**
 * Checks a presented key against its record, comparing hashes in constant
 * time. Never throws for what a client sends; the key is never returned or logged.
 *
 * @example
 * await verifyApiKey(headers['x-api-key'], store) // → { ok: true, producer: 'acme-web', keyId: 'k3x9…' }
 */
export async function verifyApiKey(presented: string | undefined, store: Pick<ApiKeyStore, 'get'>): Promise<ApiKeyVerdict> {
  if (presented === undefined || presented.trim() === '') return { ok: false, reason: 'missing' };
  const match = KEY.exec(presented.trim());
  if (!match) return { ok: false, reason: 'malformed' };
  const [, keyId, secret] = match as unknown as [string, string, string];
  const record = await store.get(keyId);
  const expected = record ? Buffer.from(record.sha256, 'hex') : DUMMY;
  const same = timingSafeEqual(sha256(secret), expected);
  if (!record) return { ok: false, reason: 'unknown' };
  if (!same) return { ok: false, reason: 'mismatch' };
  if (!record.enabled) return { ok: false, reason: 'revoked' };
  return { ok: true, producer: record.producer, keyId, ...(record.allowed_origins ? { allowedOrigins: record.allowed_origins } : {}) };
}

/**
 * Whether a request from `origin` (its `Origin` header) may use a key: any origin for a key not bound to
 * origins; one of its origins, and only with an Origin, for a key bound to some. (An Origin is what a
 * browser sends; a script outside one can send any, so this keeps other sites' pages out, not forgers.)
 *
 * @example
 * originAllowed({ ok: true, producer: 'web', keyId: 'k', allowedOrigins: ['https://shop.example'] }, 'https://evil.example') // → false
 */
export function originAllowed(verdict: { allowedOrigins?: readonly string[] | undefined }, origin: string | undefined): boolean {
  if (!verdict.allowedOrigins) return true;
  const presented = normalizeOrigin(origin);
  return presented !== undefined && verdict.allowedOrigins.includes(presented);
}

/** The key id of a presented key, for logs and revocation (never the secret). */
export function apiKeyId(key: string): string | undefined {
  return KEY.exec(key.trim())?.[1];
}

/**
 * A store in front of another, for the authorizer: known keys are kept for
 * `ttlMs`, and served stale (up to `maxStaleMs`) when the store fails, so that an
 * SSM outage or throttling does not lock out producers already seen; unknown ids
 * are remembered apart, in a bounded set whose overflow drops the oldest, so that
 * a flood of random keys can neither evict known ones nor repeat a lookup; and one
 * lookup per id is in flight at a time. Revocation therefore takes up to `ttlMs`
 * here (plus API Gateway's own cache), or up to `maxStaleMs` while the store is down.
 */
export function cachedApiKeyStore(
  store: Pick<ApiKeyStore, 'get'>,
  ttlMs: number,
  now: () => number = Date.now,
  { maxStaleMs = 15 * 60_000, maxUnknown = 10_000 }: { maxStaleMs?: number; maxUnknown?: number } = {},
): Pick<ApiKeyStore, 'get'> {
  const known = new Map<string, { at: number; record: ApiKeyRecord }>();
  const unknown = new Map<string, number>();
  const inFlight = new Map<string, Promise<ApiKeyRecord | undefined>>();
  const lookup = async (keyId: string): Promise<ApiKeyRecord | undefined> => {
    const stale = known.get(keyId);
    let record: ApiKeyRecord | undefined;
    try {
      record = await store.get(keyId);
    } catch (error) {
      if (stale && now() - stale.at < maxStaleMs) return stale.record;
      throw error;
    }
    if (record) {
      known.set(keyId, { at: now(), record });
      unknown.delete(keyId);
    } else {
      known.delete(keyId);
      unknown.delete(keyId);
      if (unknown.size >= maxUnknown) unknown.delete(unknown.keys().next().value!);
      unknown.set(keyId, now());
    }
    return record;
  };
  return {
    async get(keyId) {
      const hit = known.get(keyId);
      if (hit && now() - hit.at < ttlMs) return hit.record;
      const miss = unknown.get(keyId);
      if (miss !== undefined && now() - miss < ttlMs) return undefined;
      let pending = inFlight.get(keyId);
      if (!pending) {
        pending = lookup(keyId).finally(() => inFlight.delete(keyId));
        inFlight.set(keyId, pending);
      }
      return pending;
    },
  };
}
