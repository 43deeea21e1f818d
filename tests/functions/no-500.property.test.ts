import { ingestResponseSchema } from '@snowgate/core';
import fc from 'fast-check';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { apiEvent, lambdaContext } from '../support/events';
import { mockedHandler, parseBody } from './support';
import { bodyArb, contentTypeArb } from '../support/arbitraries';

/** Both packing modes, and pack sizes small enough that a request's records span several packs. */
const packingArb = fc.record({
  mode: fc.constantFrom('packed' as const, 'single' as const),
  maxRecordBytes: fc.integer({ min: 1_024, max: 4_096 }),
});

describe('property: no input produces a 500', () => {
  it('answers 2xx with every accepted record on the stream, or 4xx with the input in the error bucket', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, contentTypeArb, fc.boolean(), packingArb, async (body, contentType, base64, packing) => {
        const h = mockedHandler({ limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 }, packing });
        const response = await h.handler(apiEvent({ body, contentType, base64 }), lambdaContext());
        const status = response.statusCode ?? 0;
        expect([202, 207, 400, 413, 415, 422]).toContain(status);
        const answer = ingestResponseSchema.parse(parseBody(response));
        const onStream = h.envelopes();
        const quarantined = h.quarantined();
        if (status < 300) {
          expect(answer.accepted).toBeGreaterThan(0);
          expect(onStream).toHaveLength(answer.accepted);
          expect(quarantined).toHaveLength(answer.rejected > 0 ? 1 : 0);
          for (const envelope of onStream) expect(JSON.parse(envelope).record.id).not.toBeNull();
          // Packed records within their size, unless one envelope alone is larger; in single mode, one per event keyed by its id.
          for (const record of h.putRecordsCalls().flat()) {
            if (packing.mode === 'single') expect(record.key).toBe(String(JSON.parse(record.data).record.id));
            else if (record.data.includes('\n'))
              expect(Buffer.byteLength(record.data) + Buffer.byteLength(record.key)).toBeLessThanOrEqual(packing.maxRecordBytes);
          }
        } else {
          expect(answer.accepted).toBe(0);
          expect(onStream).toHaveLength(0);
          expect(quarantined).toHaveLength(1);
        }
      }),
      { numRuns: 400 },
    );
    expect(Object.prototype).not.toHaveProperty('id');
  });

  it('holds for compressed bodies too: gzip, br, truncated, mislabelled, bombs', async () => {
    const compressed = fc.tuple(bodyArb, fc.constantFrom('gzip', 'br', 'gzip-truncated', 'mislabelled', 'bomb')).map(([body, how]) => {
      const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
      if (how === 'br') return { bytes: brotliCompressSync(bytes), encoding: 'br' };
      if (how === 'gzip-truncated') return { bytes: gzipSync(bytes).subarray(0, 12), encoding: 'gzip' };
      if (how === 'mislabelled') return { bytes, encoding: 'gzip' };
      if (how === 'bomb') return { bytes: gzipSync(Buffer.alloc(64_000, 0x20)), encoding: 'gzip' };
      return { bytes: gzipSync(bytes), encoding: 'gzip' };
    });
    await fc.assert(
      fc.asyncProperty(compressed, contentTypeArb, async ({ bytes, encoding }, contentType) => {
        const h = mockedHandler({ limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 } });
        const response = await h.handler(
          apiEvent({ body: bytes, contentType, headers: { 'content-encoding': encoding }, base64: true }),
          lambdaContext(),
        );
        const status = response.statusCode ?? 0;
        expect([202, 207, 400, 413, 415, 422]).toContain(status);
        const answer = ingestResponseSchema.parse(parseBody(response));
        expect(h.envelopes()).toHaveLength(answer.accepted);
        expect(h.quarantined()).toHaveLength(status >= 400 || answer.rejected > 0 ? 1 : 0);
        // A body refused whole is kept as received, compressed: its bytes exactly (base64 unless they happen to be UTF-8).
        const q = h.quarantined()[0]?.object;
        if (q?.body && !q.body.truncated)
          expect(Buffer.from(q.body.data, q.body.encoding === 'base64' ? 'base64' : 'utf8').equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
