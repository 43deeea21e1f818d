/**
 * The benchmarks' Segment-shaped message: as Segment's analytics-node 3.1.0 sends a track call in a batch
 * (captured: tests/events/segment-batch.json), with an `id` as well when it goes to `POST /events`, where
 * the id is a member of the record. Kept here, apart from the tests: figures compare across runs only
 * while their inputs stay the same.
 */
export function segmentMessage(messageId: string, withId: boolean) {
  return {
    timestamp: '2026-12-04T01:21:55.798Z',
    integrations: {},
    event: 'Order Completed',
    type: 'track',
    properties: { order_id: messageId, total: 12.5, currency: 'EUR', products: [{ sku: 'sku-1', quantity: 2 }] },
    context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
    userId: 'user-42',
    messageId,
    ...(withId ? { id: messageId } : {}),
    _metadata: { nodeVersion: 'v20.20.2', jsRuntime: 'node' },
  };
}

/** A `POST /v1/batch` body of these messages, as the SDK sends it (its write key and sentAt beside the batch). */
export function segmentBatch(ids: string[]): string {
  return JSON.stringify({ batch: ids.map((id) => segmentMessage(id, false)), writeKey: 'any-key', sentAt: '2026-12-04T01:21:55.803Z' });
}
