import {
  apiKeyId,
  apiKeyRecordSchema,
  cachedApiKeyStore,
  generateApiKey,
  originAllowed,
  verifyApiKey,
  type ApiKeyRecord,
} from '@snowgate/core';
import { describe, expect, it } from 'vitest';

const storeOf = (...records: ApiKeyRecord[]) => {
  const map = new Map(records.map((r) => [r.key_id, r]));
  let reads = 0;
  return {
    reads: () => reads,
    async get(id: string) {
      reads++;
      return map.get(id);
    },
  };
};

describe('API keys', () => {
  it('makes a key that verifies, and stores only its hash', async () => {
    const { key, record } = generateApiKey('acme-web', new Date('2026-12-03T08:00:00.000Z'));
    expect(key).toMatch(/^sg_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyRecordSchema.parse(record)).toEqual(record);
    expect(JSON.stringify(record)).not.toContain(key.slice(16));
    expect(apiKeyId(key)).toBe(record.key_id);
    expect(await verifyApiKey(key, storeOf(record))).toEqual({ ok: true, producer: 'acme-web', keyId: record.key_id });
    // Surrounding blanks (a copied key) are forgiven.
    expect((await verifyApiKey(` ${key}\n`, storeOf(record))).ok).toBe(true);
  });

  it('refuses, with a reason for the log, what is missing, malformed, unknown, wrong or revoked', async () => {
    const { key, record } = generateApiKey('acme-web');
    const other = generateApiKey('acme-web');
    const wrongSecret = `${key.slice(0, 16)}${other.key.slice(16)}`;
    const store = storeOf(record);
    expect(await verifyApiKey(undefined, store)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyApiKey('  ', store)).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyApiKey('Bearer abc', store)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyApiKey(`${key}x`, store)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyApiKey(other.key, store)).toEqual({ ok: false, reason: 'unknown' });
    expect(await verifyApiKey(wrongSecret, store)).toEqual({ ok: false, reason: 'mismatch' });
    expect(await verifyApiKey(key, storeOf({ ...record, enabled: false, revoked_at: new Date().toISOString() }))).toEqual({
      ok: false,
      reason: 'revoked',
    });
    // A revoked key with a wrong secret says mismatch, not that the key id exists and was revoked.
    expect(await verifyApiKey(wrongSecret, storeOf({ ...record, enabled: false }))).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('validates producer names', () => {
    expect(() => generateApiKey('')).toThrow();
    expect(() => generateApiKey('has space')).toThrow();
    expect(() => generateApiKey('x'.repeat(65))).toThrow();
    expect(generateApiKey('partner_1.prod-eu').record.producer).toBe('partner_1.prod-eu');
  });

  it('caches records and absences for the TTL, then reads again (how long a revocation takes)', async () => {
    const { record } = generateApiKey('acme-web');
    const inner = storeOf(record);
    let now = 0;
    const cached = cachedApiKeyStore(inner, 60_000, () => now);
    await cached.get(record.key_id);
    await cached.get(record.key_id);
    await cached.get('zzzzzzzzzzzz');
    await cached.get('zzzzzzzzzzzz');
    expect(inner.reads()).toBe(2);
    now = 60_000;
    await cached.get(record.key_id);
    expect(inner.reads()).toBe(3);
  });

  it('keeps serving known keys when the store fails, keeps unknown ids apart and bounded, and asks once per id at a time', async () => {
    const { record } = generateApiKey('acme-web');
    let failing = false;
    let reads = 0;
    const inner = {
      async get(id: string) {
        reads++;
        await new Promise((r) => setTimeout(r, 5));
        if (failing) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return id === record.key_id ? record : undefined;
      },
    };
    let now = 0;
    const cached = cachedApiKeyStore(inner, 60_000, () => now, { maxStaleMs: 600_000, maxUnknown: 3 });
    // Concurrent lookups of one id: one read.
    await Promise.all([cached.get(record.key_id), cached.get(record.key_id), cached.get(record.key_id)]);
    expect(reads).toBe(1);
    // A flood of random ids overflows the unknown set without evicting the known key.
    for (const id of ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc', 'dddddddddddd']) await cached.get(id);
    expect(reads).toBe(5);
    expect(await cached.get(record.key_id)).toEqual(record);
    expect(reads).toBe(5);
    // The store fails after the TTL: the known key is served stale; an id never seen fails (a 500: producers retry).
    now = 120_000;
    failing = true;
    expect(await cached.get(record.key_id)).toEqual(record);
    await expect(cached.get('eeeeeeeeeeee')).rejects.toThrow('Rate exceeded');
    // Not forever: past maxStaleMs the failure shows.
    now = 700_000;
    await expect(cached.get(record.key_id)).rejects.toThrow('Rate exceeded');
  });
});

describe('keys bound to origins (browser keys)', () => {
  it('keeps the origins in the record, lower-cased, and allows a request only from one of them, with an Origin', async () => {
    const { key, record } = generateApiKey('web', new Date(), ['HTTPS://Shop.Example', 'http://localhost:3000']);
    expect(record.allowed_origins).toEqual(['https://shop.example', 'http://localhost:3000']);
    const verdict = await verifyApiKey(key, storeOf(record));
    expect(verdict).toMatchObject({ ok: true, allowedOrigins: ['https://shop.example', 'http://localhost:3000'] });
    if (!verdict.ok) return;
    expect(originAllowed(verdict, 'https://shop.example')).toBe(true);
    expect(originAllowed(verdict, 'https://SHOP.example')).toBe(true);
    expect(originAllowed(verdict, 'http://localhost:3000')).toBe(true);
    expect(originAllowed(verdict, 'https://evil.example')).toBe(false);
    expect(originAllowed(verdict, 'https://shop.example.evil.example')).toBe(false);
    expect(originAllowed(verdict, undefined)).toBe(false);
    expect(originAllowed(verdict, 'null')).toBe(false);
    // A key without origins: any, or none.
    const open = generateApiKey('server');
    expect(open.record.allowed_origins).toBeUndefined();
    expect(originAllowed({}, undefined)).toBe(true);
    expect(() => generateApiKey('web', new Date(), ['https://shop.example/path'])).toThrow();
    expect(() => apiKeyRecordSchema.parse({ ...record, allowed_origins: ['*'] })).toThrow();
  });
});
