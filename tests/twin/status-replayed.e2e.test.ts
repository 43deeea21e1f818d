import { parseIngestSettings, parseStageConfig } from '@snowgate/config';
import { createClients } from '@snowgate/functions/clients';
import { replay } from '@snowgate/replay';
import { countEnvelopes, statusLine } from '@snowgate/twin';
import { afterAll, describe, expect, it } from 'vitest';
import { post } from './support';
import { useTwin } from './use-twin';

const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

describe('/status counts replayed events apart from those accepted over HTTP, and events apart from Kinesis records', () => {
  const running = useTwin(stage);
  let clients: ReturnType<typeof createClients> | undefined;
  afterAll(() => {
    clients?.kinesis.destroy();
    clients?.s3.destroy();
  });

  it('after a replay: replayed N, accepted + replayed == delivered == loaded, in fewer Kinesis records', { timeout: 60_000 }, async () => {
    const { twin } = running;
    // A payload may carry a field named "replay": that is not a replayed record.
    const batch = [{ id: 'st-1', replay: { run: 'mine', object: 'x', index: 0 } }, { uid: 'st-2' }, { id: 'st-3' }, { uid: 'st-4' }];
    expect((await post(twin.endpoints.api, JSON.stringify(batch))).status).toBe(207);

    const settings = parseIngestSettings({
      streamName: twin.endpoints.stream,
      errorBucket: twin.endpoints.buckets.errors,
      region: 'us-east-1',
      kinesisEndpoint: twin.endpoints.kinesis,
      s3Endpoint: twin.endpoints.s3,
    });
    clients = createClients(settings, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    const fix = { name: 'uid-as-id', fix: (record: unknown) => ({ ...(record as object), id: (record as { uid: string }).uid }) };
    const report = await replay({ send: true, fix }, { ...clients, settings, contracts: undefined });
    expect(report.totals).toMatchObject({ sent: 2, failing: 0 });

    for (let i = 0; i < 150 && twin.status().snowpipe.loadedRows < 4; i++) await new Promise((r) => setTimeout(r, 100));
    const s = twin.status();
    expect({
      accepted: s.api.accepted,
      streamRecords: s.api.streamRecords,
      replayed: s.firehose.replayedEvents,
      quarantined: s.api.quarantinedRecords,
      deliveredEvents: s.firehose.deliveredEvents,
      deliveredRecords: s.firehose.deliveredRecords,
      loaded: s.snowpipe.loadedRows,
    }).toEqual({
      accepted: 2,
      // Packed (the default): the request's two events in one Kinesis record, the replayed object's two in another.
      streamRecords: 1,
      replayed: 2,
      quarantined: 2,
      deliveredEvents: 4,
      deliveredRecords: 2,
      loaded: 4,
    });
    expect(statusLine(s)).toMatch(/^accepted 2 \(1 stream record\) · replayed 2 · quarantined 2 · .*loaded rows 4/);
  });

  it('counts the envelopes of a record, one per line, and those whose head carries the replay marker', () => {
    const head = '{"received_at":"2026-12-03T00:00:00.000Z","request_id":"r"';
    const marked = `${head},"replay":{"run":"x","object":"errors/k.json","index":0},"record":{"id":1}}`;
    const plain = `${head},"record":{"id":2,"note":",\\"replay\\":","x":{"a":1,"replay":{"run":"y"}}}}`;
    expect(countEnvelopes(Buffer.from(marked))).toEqual({ events: 1, replayed: 1 });
    expect(countEnvelopes(Buffer.from(plain))).toEqual({ events: 1, replayed: 0 });
    expect(countEnvelopes(Buffer.from([marked, plain, marked].join('\n')))).toEqual({ events: 3, replayed: 2 });
    expect(countEnvelopes(Buffer.from([plain, plain].join('\n')))).toEqual({ events: 2, replayed: 0 });
  });
});
