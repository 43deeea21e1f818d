import { ingestResponseSchema } from '@snowgate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiEvent, lambdaContext } from '../support/events';
import { mockedHandler, parseBody } from './support';
import { bodyArb, contentTypeArb } from '../support/arbitraries';

describe('property: no input produces a 500', () => {
  it('answers 2xx with every accepted record on the stream, or 4xx with the input in the error bucket', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, contentTypeArb, fc.boolean(), async (body, contentType, base64) => {
        const h = mockedHandler({ limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 } });
        const response = await h.handler(apiEvent({ body, contentType, base64 }), lambdaContext());
        const status = response.statusCode ?? 0;
        expect([202, 207, 400, 413, 415, 422]).toContain(status);
        const answer = ingestResponseSchema.parse(parseBody(response));
        const onStream = h.putRecordsCalls().flat();
        const quarantined = h.quarantined();
        if (status < 300) {
          expect(answer.accepted).toBeGreaterThan(0);
          expect(onStream).toHaveLength(answer.accepted);
          expect(quarantined).toHaveLength(answer.rejected > 0 ? 1 : 0);
          for (const entry of onStream) expect(JSON.parse(entry.data).record.id).not.toBeNull();
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
});
