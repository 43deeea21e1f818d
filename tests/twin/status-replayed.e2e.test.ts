import { parseIngestSettings, parseStageConfig } from '@snowgate/config';
import { createClients } from '@snowgate/functions/clients';
import { replay } from '@snowgate/replay';
import { countReplayed, statusLine } from '@snowgate/twin';
import { afterAll, describe, expect, it } from 'vitest';
import { post } from './support';
import { useTwin } from './use-twin';

const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

describe('/status counts replayed records apart from those accepted over HTTP', () => {
  const running = useTwin(stage);
  let clients: ReturnType<typeof createClients> | undefined;
  afterAll(() => {
    clients?.kinesis.destroy();
    clients?.s3.destroy();
  });

  it('after a replay: replayed N, and accepted + replayed == loaded', { timeout: 60_000 }, async () => {
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
      replayed: s.firehose.replayedRecords,
      quarantined: s.api.quarantinedRecords,
      loaded: s.snowpipe.loadedRows,
    }).toEqual({
      accepted: 2,
      replayed: 2,
      quarantined: 2,
      loaded: 4,
    });
    expect(statusLine(s)).toMatch(/^accepted 2 · replayed 2 · quarantined 2 · .*loaded rows 4/);
  });

  it('counts only the envelopes whose head carries the replay marker, one per line', () => {
    const head = '{"received_at":"2026-12-03T00:00:00.000Z","request_id":"r"';
    const marked = `${head},"replay":{"run":"x","object":"errors/k.json","index":0},"record":{"id":1}}`;
    const plain = `${head},"record":{"id":2,"note":",\\"replay\\":","x":{"a":1,"replay":{"run":"y"}}}}`;
    expect(countReplayed(Buffer.from(marked))).toBe(1);
    expect(countReplayed(Buffer.from(plain))).toBe(0);
    expect(countReplayed(Buffer.from([marked, plain, marked].join('\n')))).toBe(2);
    expect(countReplayed(new Uint8Array(0))).toBe(0);
  });
});
