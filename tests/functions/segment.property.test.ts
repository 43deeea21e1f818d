import { segmentRouteOf } from '@snowgate/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyArb, contentTypeArb } from '../support/arbitraries';
import { apiEvent, lambdaContext } from '../support/events';
import { mockedHandler, parseBody } from './support';

const value = fc.jsonValue({ maxDepth: 3 });
const message = fc.record(
  {
    messageId: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)),
    id: fc.oneof(fc.string({ maxLength: 4 }), value),
    type: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias', 'x'),
    context: value,
    properties: value,
  },
  { requiredKeys: [] },
);
/** Segment-shaped bodies, and anything at all. */
const segmentBody = fc.oneof(
  fc
    .record(
      { batch: fc.array(fc.oneof(message, value), { maxLength: 8 }), context: value, integrations: value },
      { requiredKeys: ['batch'] },
    )
    .map((b) => JSON.stringify(b)),
  message.map((m) => JSON.stringify(m)),
  bodyArb,
);
const route = fc.constantFrom('batch', 'track', 'identify', 'page', 'screen', 'group', 'alias');

describe('property: the Segment routes never answer 500, and a 200 means every accepted message is on the stream', () => {
  it('holds for any body, content type and route', async () => {
    await fc.assert(
      fc.asyncProperty(
        segmentBody,
        fc.oneof(contentTypeArb, fc.constant('application/x-www-form-urlencoded')),
        route,
        fc.constantFrom('packed', 'single' as const),
        async (body, contentType, r, mode) => {
          const h = mockedHandler({ limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 }, packing: { mode } });
          const event = apiEvent({ body, contentType });
          const routeKey = `POST /v1/${r}`;
          const response = await h.handler({ ...event, routeKey } as APIGatewayProxyEventV2, lambdaContext());
          expect(segmentRouteOf(routeKey)).toBe(r);
          const status = response.statusCode ?? 0;
          expect([200, 400, 413, 415, 422]).toContain(status);
          const answer = parseBody(response) as { success: boolean; accepted: number; rejected: number };
          const onStream = h.putRecordsCalls().flat();
          const envelopes = h.envelopes();
          expect(envelopes).toHaveLength(answer.accepted);
          if (mode === 'single') expect(onStream).toHaveLength(answer.accepted);
          else expect(onStream.length).toBe(answer.accepted > 0 ? 1 : 0);
          expect(answer.success).toBe(status === 200);
          expect(h.quarantined()).toHaveLength(status >= 400 || answer.rejected > 0 ? 1 : 0);
          // Single: each message its own Kinesis record, keyed by its messageId. Packed: its envelope is a line of one.
          if (mode === 'single') for (const entry of onStream) expect(entry.key).toBe(JSON.parse(entry.data).record.messageId);
          for (const line of envelopes) {
            const record = JSON.parse(line).record;
            expect(typeof record.messageId).toBe('string');
            expect(record.id).toBe(record.messageId);
            if (r !== 'batch') expect(record.type).toBe(r);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(Object.prototype).not.toHaveProperty('id');
  });
});
