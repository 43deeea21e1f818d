import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { envelopeSchema, quarantineObjectSchema } from '@snowgate/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiEvent, fixture, lambdaContext, type EventOptions } from '../support/events';
import { mockedHandler, parseBody } from './support';

/** A real API Gateway event on a Segment route. */
function segmentEvent(route: string, options: EventOptions): APIGatewayProxyEventV2 {
  const event = apiEvent(options);
  const routeKey = `POST /v1/${route}`;
  return {
    ...event,
    routeKey,
    rawPath: `/v1/${route}`,
    requestContext: { ...event.requestContext, routeKey, http: { ...event.requestContext.http, path: `/v1/${route}` } },
  };
}

const rudderBody = readFileSync(new URL('../events/rudder-batch.json.gz', import.meta.url));
const rudderHeaders = { contentType: 'application/x-www-form-urlencoded', headers: { 'content-encoding': 'gzip' } };

describe('ingest handler: the Segment routes', () => {
  it("answers Segment's own batch 200 once each message is on the stream, with its messageId as id (packed)", async () => {
    const h = mockedHandler();
    const event = segmentEvent('batch', { body: fixture('segment-batch.json') });
    const response = await h.handler(event, lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(parseBody(response)).toEqual({ success: true, requestId: event.requestContext.requestId, accepted: 3, rejected: 0, errors: [] });
    expect(h.putRecordsCalls().flat()).toHaveLength(1);
    expect(h.envelopes().map((line) => envelopeSchema.parse(JSON.parse(line)).record.id)).toEqual([
      'seg-fixture-1',
      'seg-fixture-2',
      'seg-fixture-3',
    ]);
    expect(h.quarantined()).toEqual([]);
  });

  it('with packing single: one Kinesis record per message, keyed by its messageId', async () => {
    const h = mockedHandler({ packing: { mode: 'single' } });
    const response = await h.handler(segmentEvent('batch', { body: fixture('segment-batch.json') }), lambdaContext());
    expect(response.statusCode).toBe(200);
    const [entries] = h.putRecordsCalls();
    expect(entries!.map((e) => e.key)).toEqual(['seg-fixture-1', 'seg-fixture-2', 'seg-fixture-3']);
    for (const e of entries!) expect(envelopeSchema.parse(JSON.parse(e.data)).record.id).toBe(e.key);
  });

  it("takes RudderStack's gzipped body labelled form-urlencoded there, and only there: /events answers 415", async () => {
    const h = mockedHandler();
    const ok = await h.handler(segmentEvent('batch', { body: rudderBody, ...rudderHeaders }), lambdaContext());
    expect(ok.statusCode).toBe(200);
    expect(h.envelopes().map((line) => envelopeSchema.parse(JSON.parse(line)).record.id)).toEqual([
      'rs-fixture-2',
      'rs-fixture-3',
      'rs-fixture-4',
    ]);
    const events = await h.handler(apiEvent({ body: rudderBody, ...rudderHeaders }), lambdaContext());
    expect([events.statusCode, parseBody(events)]).toMatchObject([415, { errors: [{ reason: 'unsupported_media_type' }] }]);
  });

  it('answers 200 when some messages are quarantined, naming them in the body; 422 when none is acceptable', async () => {
    const h = mockedHandler();
    const mixed = await h.handler(
      segmentEvent('batch', { body: '{"batch":[{"type":"track","messageId":"ok-1"},{"type":"track","event":"no id"}]}' }),
      lambdaContext(),
    );
    expect(mixed.statusCode).toBe(200);
    expect(parseBody(mixed)).toMatchObject({
      success: true,
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, reason: 'missing_id', message: 'message 1 has no messageId' }],
    });
    const none = await h.handler(segmentEvent('track', { body: '{"event":"no id"}' }), lambdaContext());
    expect([none.statusCode, parseBody(none)]).toMatchObject([422, { success: false, errors: [{ index: 0, reason: 'missing_id' }] }]);
    const objects = h.quarantined().map((q) => quarantineObjectSchema.parse(q.object));
    expect(objects.map((o) => [o.status, o.records.map((r) => r.input.data)])).toEqual([
      [200, ['{"type":"track","event":"no id"}']],
      [422, ['{"event":"no id"}']],
    ]);
  });

  it('puts the call of a single-call route in type', async () => {
    const h = mockedHandler();
    const response = await h.handler(segmentEvent('identify', { body: '{"userId":"u-1","messageId":"i-1"}' }), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(h.envelopes()[0]!).record).toEqual({ userId: 'u-1', messageId: 'i-1', id: 'i-1', type: 'identify' });
  });

  it('answers 503 (which the SDKs retry) when the stream does not take the batch in time, never 200', async () => {
    const h = mockedHandler();
    h.kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }],
    });
    const response = await h.handler(segmentEvent('track', { body: '{"messageId":"t-1"}' }), lambdaContext());
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('3');
  });

  it('keeps the write key of a body refused whole out of the quarantine', async () => {
    const h = mockedHandler();
    const body = fixture('segment-batch.json').replace(/"batch":\[.*\],"writeKey"/, '"batch":[],"writeKey"');
    const response = await h.handler(segmentEvent('batch', { body }), lambdaContext());
    expect(response.statusCode).toBe(422);
    const [q] = h.s3Mock.commandCalls(PutObjectCommand).map((c) => String(c.args[0].input.Body));
    expect(q).toContain('\\"writeKey\\":\\"[redacted]\\"');
    expect(q).not.toContain('sg_aaaaaaaaaaaa');
  });
});
