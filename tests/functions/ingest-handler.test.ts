import { Logger } from '@aws-lambda-powertools/logger';
import {
  AccessDeniedException,
  InternalFailureException,
  KMSDisabledException,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  type PutRecordsCommandInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { NoSuchBucket, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { envelopeSchema, ingestResponseSchema, quarantineObjectSchema } from '@snowgate/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, fixture, lambdaContext } from '../support/events';
import { allStored, mockedHandler, parseBody } from './support';

describe('ingest handler: accepted input', () => {
  it('packing single: puts a single event on the stream, keyed by its id, and answers 202', async () => {
    const h = mockedHandler({ packing: { mode: 'single' } });
    const event = apiEvent({ body: fixture('single.json') });
    const response = await h.handler(event, lambdaContext());
    expect(response.statusCode).toBe(202);
    const body = ingestResponseSchema.parse(parseBody(response));
    expect(body).toEqual({ requestId: event.requestContext.requestId, accepted: 1, rejected: 0, errors: [] });
    const [[entry]] = h.putRecordsCalls() as [[{ key: string; data: string }]];
    expect(h.kinesisMock.commandCalls(PutRecordsCommand)[0]!.args[0].input.StreamName).toBe('snowgate-events');
    expect(entry.key).toBe('evt-1');
    const envelope = envelopeSchema.parse(JSON.parse(entry.data));
    expect(envelope.request_id).toBe(event.requestContext.requestId);
    expect(entry.data).toContain('"amount":12345678901234567890');
    expect(h.quarantined()).toEqual([]);
  });

  it('treats base64 and plain bodies alike, and joins duplicate header names', async () => {
    const h = mockedHandler();
    const plain = await h.handler(apiEvent({ body: fixture('batch.json') }), lambdaContext());
    const base64 = await h.handler(apiEvent({ body: fixture('batch.json'), base64: true }), lambdaContext());
    expect([plain.statusCode, base64.statusCode]).toEqual([202, 202]);
    const [a, b] = h.putRecordsCalls();
    const records = (call: { data: string }[]) => call.flatMap((e) => e.data.split('\n')).map((line) => JSON.parse(line).record);
    expect(records(a!)).toEqual(records(b!));
    expect(records(a!)).toHaveLength(JSON.parse(fixture('batch.json')).length);

    // Joined, not overwritten: the valid value last still conflicts with the first.
    const dup = apiEvent({
      body: '{"id":1}',
      contentType: null,
      headers: { 'Content-Type': 'text/plain', 'content-type': 'application/json' },
    });
    expect((await h.handler(dup, lambdaContext())).statusCode).toBe(415);
    const same = apiEvent({
      body: '{"id":1}',
      contentType: null,
      headers: { 'Content-Type': 'application/json', 'content-type': 'application/json' },
    });
    expect((await h.handler(same, lambdaContext())).statusCode).toBe(202);
  });
});

describe('ingest handler: packed records', () => {
  it("packs a request's envelopes into Kinesis records of at most the configured size, one per line, keyed by request id and pack", async () => {
    const h = mockedHandler({ packing: { maxRecordBytes: 2_000 } });
    const events = Array.from({ length: 40 }, (_, i) => ({ id: `p-${i}`, path: '/pricing', user: { id: i } }));
    const event = apiEvent({ body: JSON.stringify(events) });
    const response = await h.handler(event, lambdaContext());
    expect(response.statusCode).toBe(202);
    const [call] = h.putRecordsCalls();
    const requestId = event.requestContext.requestId;
    expect(call!.length).toBeGreaterThan(1);
    expect(call!.length).toBeLessThan(events.length);
    call!.forEach((record, n) => {
      expect(record.key).toBe(`${requestId}:${n}`);
      expect(Buffer.byteLength(record.data) + Buffer.byteLength(record.key)).toBeLessThanOrEqual(2_000);
      expect(record.data.endsWith('\n')).toBe(false);
    });
    // In order: the lines of the records, record after record, are the request's events.
    expect(h.envelopes().map((line) => envelopeSchema.parse(JSON.parse(line)).record)).toEqual(events);
  });

  it('by default puts a batch of 100 small events in one Kinesis record', async () => {
    const h = mockedHandler();
    const events = Array.from({ length: 100 }, (_, i) => ({ id: `d-${i}`, type: 'page_view' }));
    expect((await h.handler(apiEvent({ body: JSON.stringify(events) }), lambdaContext())).statusCode).toBe(202);
    expect(h.putRecordsCalls().map((c) => c.length)).toEqual([1]);
    expect(h.envelopes()).toHaveLength(100);
  });

  it('puts an envelope larger than the pack size alone in its own record, between packs of the others', async () => {
    const h = mockedHandler({ packing: { maxRecordBytes: 1_024 } });
    const events = [{ id: 'a' }, { id: 'b' }, { id: 'big', pad: 'x'.repeat(3_000) }, { id: 'c' }];
    expect((await h.handler(apiEvent({ body: JSON.stringify(events) }), lambdaContext())).statusCode).toBe(202);
    const [call] = h.putRecordsCalls();
    expect(call!.map((r) => r.data.split('\n').map((l) => JSON.parse(l).record.id))).toEqual([['a', 'b'], ['big'], ['c']]);
  });

  it('after a partial failure resends exactly the packed records that failed, each whole', async () => {
    const h = mockedHandler({ packing: { maxRecordBytes: 1_024 } });
    let call = 0;
    h.kinesisMock.on(PutRecordsCommand).callsFake(async (input: PutRecordsCommandInput) => {
      call++;
      if (call === 1) {
        return {
          FailedRecordCount: 2,
          Records: (input.Records ?? []).map((_, i) =>
            i % 2 === 1
              ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
              : { ShardId: 'shardId-000000000000', SequenceNumber: String(i + 1) },
          ),
        };
      }
      return allStored(input);
    });
    const events = Array.from({ length: 30 }, (_, i) => ({ id: `f-${i}`, pad: 'y'.repeat(100) }));
    const response = await h.handler(apiEvent({ body: JSON.stringify(events) }), lambdaContext());
    expect(response.statusCode).toBe(202);
    const [first, second, ...more] = h.putRecordsCalls();
    expect(more).toEqual([]);
    expect(first!.length).toBeGreaterThanOrEqual(4);
    expect(second).toEqual(first!.filter((_, i) => i % 2 === 1));
    // What Kinesis stored (the first call's acknowledged records and the resent ones): every event once.
    const stored = [...first!.filter((_, i) => i % 2 === 0), ...second!];
    const ids = stored.flatMap((r) => r.data.split('\n')).map((l) => JSON.parse(l).record.id);
    expect(ids.sort()).toEqual(events.map((e) => e.id).sort());
  });
});

describe('ingest handler: rejected input is quarantined, then answered with a 4xx', () => {
  it('quarantines malformed JSON with its reason, input and metadata, never its credentials', async () => {
    const h = mockedHandler();
    const event = apiEvent({
      body: '{"id": "a", oops',
      headers: { authorization: 'Bearer top-secret', cookie: 'sid=top-secret', 'x-api-key': 'top-secret' },
    });
    const response = await h.handler(event, lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(parseBody(response)).toMatchObject({ accepted: 0, rejected: 1, errors: [{ index: null, reason: 'malformed_json' }] });
    expect(h.putRecordsCalls()).toEqual([]);
    const [q] = h.quarantined();
    expect(q!.bucket).toBe('snowgate-errors');
    expect(q!.ifNoneMatch).toBe('*');
    expect(q!.key).toMatch(/^errors\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/\d{8}T\d{9}Z-[\w-]+-[0-9a-f-]{36}\.json$/);
    const object = quarantineObjectSchema.parse(q!.object);
    expect(object).toMatchObject({
      request_id: event.requestContext.requestId,
      status: 400,
      reasons: ['malformed_json'],
      source_ip: '203.0.113.7',
    });
    expect(object.body).toEqual({ encoding: 'utf8', size: 16, truncated: false, data: '{"id": "a", oops' });
    expect(JSON.stringify(object)).not.toContain('top-secret');
  });

  it('quarantines invalid UTF-8 as base64, byte for byte', async () => {
    const h = mockedHandler();
    const bytes = new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0xc3, 0x28, 0x7d]);
    const response = await h.handler(apiEvent({ body: bytes }), lambdaContext());
    expect(response.statusCode).toBe(400);
    const { object } = h.quarantined()[0]!;
    expect(Buffer.from(object.body.data, 'base64')).toEqual(Buffer.from(bytes));
  });

  it('puts the good records of a mixed batch on the stream and the bad ones in the error bucket: 207', async () => {
    const h = mockedHandler();
    const response = await h.handler(apiEvent({ body: fixture('batch-mixed.json') }), lambdaContext());
    expect(response.statusCode).toBe(207);
    expect(h.envelopes().map((e) => JSON.parse(e).record.id)).toEqual(['evt-20', 'evt-24']);
    const object = quarantineObjectSchema.parse(h.quarantined()[0]!.object);
    expect(object.records.map((r) => [r.index, r.reason, r.input.data])).toEqual([
      [1, 'missing_id', '{"type": "no id"}'],
      [2, 'missing_id', '{"id": null, "type": "null id"}'],
      [3, 'not_an_object', '"not an object"'],
    ]);
  });

  it('quarantines a record that repeats a key (duplicate_key) and keeps it off the stream: 207 beside a good one, 422 alone', async () => {
    const h = mockedHandler();
    const mixed = '[{"id":"dk-0"},{"id":"dk-1","id":"dk-2"}]';
    const response = await h.handler(apiEvent({ body: mixed }), lambdaContext());
    expect(response.statusCode).toBe(207);
    expect(parseBody(response)).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, reason: 'duplicate_key', message: 'record 1 repeats the key "id" at $.id' }],
    });
    expect(h.envelopes().map((e) => JSON.parse(e).record.id)).toEqual(['dk-0']);
    const object = quarantineObjectSchema.parse(h.quarantined()[0]!.object);
    expect(object.reasons).toEqual(['duplicate_key']);
    expect(object.records).toMatchObject([
      { index: 1, reason: 'duplicate_key', issues: [{ path: ['id'] }], input: { data: '{"id":"dk-1","id":"dk-2"}' } },
    ]);

    const alone = await h.handler(apiEvent({ body: '{"id":"n","user":{"plan":"a","\\u0070lan":"b"}}' }), lambdaContext());
    expect(alone.statusCode).toBe(422);
    expect(parseBody(alone)).toMatchObject({
      accepted: 0,
      errors: [{ index: 0, reason: 'duplicate_key', message: 'record 0 repeats the key "plan" at $.user.plan' }],
    });
    expect(h.envelopes()).toHaveLength(1);
  });

  it('keeps a body over the limit truncated, with its true size: 413', async () => {
    const h = mockedHandler({ limits: { maxBodyBytes: 1_000, quarantineMaxInputBytes: 100 } });
    const big = JSON.stringify({ id: 'a', pad: 'x'.repeat(5_000) });
    const response = await h.handler(apiEvent({ body: big }), lambdaContext());
    expect(response.statusCode).toBe(413);
    expect(h.quarantined()[0]!.object.body).toMatchObject({ size: big.length, truncated: true, data: big.slice(0, 100) });
  });
});

describe('ingest handler: faults', () => {
  afterEach(() => vi.useRealTimers());

  it('packing single: resends exactly the entries that came back throttled or failed', async () => {
    const h = mockedHandler({ packing: { mode: 'single' } });
    let call = 0;
    h.kinesisMock.on(PutRecordsCommand).callsFake(async (input: PutRecordsCommandInput) => {
      call++;
      if (call === 1) {
        return {
          FailedRecordCount: 2,
          Records: [
            { ShardId: 'shardId-000000000000', SequenceNumber: '1' },
            { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' },
            { ShardId: 'shardId-000000000000', SequenceNumber: '2' },
            { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' },
          ],
        };
      }
      return allStored(input);
    });
    const body = JSON.stringify([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
    const response = await h.handler(apiEvent({ body }), lambdaContext());
    expect(response.statusCode).toBe(202);
    const calls = h.putRecordsCalls();
    expect(calls.map((c) => c.map((e) => e.key))).toEqual([
      ['a', 'b', 'c', 'd'],
      ['b', 'd'],
    ]);
    expect(calls[1]!.map((e) => e.data)).toEqual([calls[0]![1]!.data, calls[0]![3]!.data]);
  });

  it('answers 503 with Retry-After when the stream keeps throttling past the budget', async () => {
    const h = mockedHandler();
    h.kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }],
    });
    const started = Date.now();
    const response = await h.handler(apiEvent({ body: '{"id":1}' }), lambdaContext());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('3');
    expect(parseBody(response)).toMatchObject({ accepted: 0, errors: [{ index: null, reason: 'downstream_unavailable' }] });
    expect(h.kinesisMock.commandCalls(PutRecordsCommand).length).toBeGreaterThan(2);
  });

  // What the stream answers when the stage is misconfigured, or our code is wrong: no retry can succeed.
  const permanent = {
    'the stream is missing': new ResourceNotFoundException({
      message: 'Stream snowgate-events under account 123456789012 not found.',
      $metadata: { httpStatusCode: 400 },
    }),
    'the role may not put records': new AccessDeniedException({
      message: 'User: arn:aws:sts::123456789012:assumed-role/ingest is not authorized to perform: kinesis:PutRecords',
      $metadata: { httpStatusCode: 400 },
    }),
    "the stream's KMS key is disabled": new KMSDisabledException({
      message: 'arn:aws:kms:eu-west-1:123456789012:key/k is disabled.',
      $metadata: { httpStatusCode: 400 },
    }),
    'a bug in our call': new TypeError("Cannot read properties of undefined (reading 'length')"),
  };
  for (const [what, error] of Object.entries(permanent)) {
    it(`answers 500 at once, saying only "internal error" and the request id, when ${what}`, async () => {
      const h = mockedHandler({ write: { budgetMs: 5_000 } });
      h.kinesisMock.on(PutRecordsCommand).rejects(error);
      const event = apiEvent({ body: '{"id":1}' });
      const started = Date.now();
      const response = await h.handler(event, lambdaContext());
      expect(response.statusCode).toBe(500);
      expect(response.headers?.['retry-after']).toBeUndefined();
      // Not retried for the write budget: one call, and an answer well within it.
      expect(h.kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(1_000);
      const requestId = event.requestContext.requestId;
      expect(parseBody(response)).toEqual({
        requestId,
        accepted: 0,
        rejected: 0,
        errors: [
          {
            index: null,
            reason: 'internal_error',
            message: `internal error; nothing in this request is acknowledged (request id ${requestId})`,
          },
        ],
      });
      // Nothing of the cause reaches the producer: no account, key, role or stream name.
      expect(response.body).not.toMatch(/arn:|123456789012|snowgate-events|Cannot read/);
    });
  }

  const transient = {
    'throttled as a whole': new ProvisionedThroughputExceededException({
      message: 'Rate exceeded for stream',
      $metadata: { httpStatusCode: 400 },
    }),
    'failing inside the service': new InternalFailureException({
      message: 'Internal service failure.',
      $metadata: { httpStatusCode: 500 },
    }),
    unreachable: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  };
  for (const [what, error] of Object.entries(transient)) {
    it(`retries a stream ${what} for the write budget, then answers 503 with Retry-After`, async () => {
      const h = mockedHandler();
      h.kinesisMock.on(PutRecordsCommand).rejects(error);
      const response = await h.handler(apiEvent({ body: '{"id":1}' }), lambdaContext());
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBe('3');
      expect(h.kinesisMock.commandCalls(PutRecordsCommand).length).toBeGreaterThan(1);
    });
  }

  it('answers 500 at once when the error bucket refuses the write for good (no such bucket, access denied)', async () => {
    const refusals = [
      new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } }),
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata: { httpStatusCode: 403 } }),
    ];
    for (const refusal of refusals) {
      const h = mockedHandler({ write: { budgetMs: 5_000 } });
      h.s3Mock.on(PutObjectCommand).rejects(refusal);
      const response = await h.handler(apiEvent({ body: '{' }), lambdaContext());
      expect(response.statusCode).toBe(500);
      expect(parseBody(response)).toMatchObject({ errors: [{ index: null, reason: 'internal_error' }] });
      expect(response.body).not.toMatch(/bucket|Access Denied/);
    }
  });

  it('answers 503 when a slow stream does not answer within the budget', async () => {
    const h = mockedHandler();
    h.kinesisMock.on(PutRecordsCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const response = await h.handler(apiEvent({ body: '{"id":1}' }), lambdaContext());
    const elapsed = Date.now() - started;
    expect(response.statusCode).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('keeps the budget inside the Lambda time that is left', async () => {
    const h = mockedHandler({ write: { budgetMs: 20_000 } });
    h.kinesisMock.on(PutRecordsCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const response = await h.handler(apiEvent({ body: '{"id":1}' }), lambdaContext(800));
    expect(response.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(800);
  });

  it('answers 503, never a 4xx, when rejected input cannot be quarantined', async () => {
    const h = mockedHandler();
    h.s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }));
    const malformed = await h.handler(apiEvent({ body: '{' }), lambdaContext());
    expect(malformed.statusCode).toBe(503);
    const mixed = await h.handler(apiEvent({ body: fixture('batch-mixed.json') }), lambdaContext());
    expect(mixed.statusCode).toBe(503);
    expect(mixed.headers?.['retry-after']).toBe('3');
  });

  it('takes a 412 on the quarantine write as stored: the key is new, so only its own earlier attempt can have written it', async () => {
    const h = mockedHandler();
    // What S3 answers the SDK's retry of a conditional PUT whose first answer was lost.
    h.s3Mock.on(PutObjectCommand).rejects(
      Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      }),
    );
    expect((await h.handler(apiEvent({ body: '{' }), lambdaContext())).statusCode).toBe(400);
    expect((await h.handler(apiEvent({ body: fixture('batch-mixed.json') }), lambdaContext())).statusCode).toBe(207);
  });

  it('does not answer before the stream has acknowledged every record', async () => {
    const h = mockedHandler();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    h.kinesisMock.on(PutRecordsCommand).callsFake(async (input: PutRecordsCommandInput) => {
      await gate;
      return allStored(input);
    });
    let answered = false;
    const pending = h.handler(apiEvent({ body: fixture('batch.json') }), lambdaContext()).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    release();
    expect((await pending).statusCode).toBe(202);
  });

  it('does not answer a 4xx before the error bucket has acknowledged the input', async () => {
    const h = mockedHandler();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    h.s3Mock.on(PutObjectCommand).callsFake(async () => {
      await gate;
      return { ETag: '"e"' };
    });
    let answered = false;
    const pending = h.handler(apiEvent({ body: '[' }), lambdaContext()).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    release();
    expect((await pending).statusCode).toBe(400);
  });
});

describe('ingest handler: logs', () => {
  it('logs one structured line per request, without headers or body', async () => {
    const lines: string[] = [];
    // Powertools would log the whole event (headers included) when this is set; the handler overrides it.
    vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const log = vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    try {
      const h = mockedHandler({}, new Logger({ serviceName: 'snowgate-ingest', logLevel: 'INFO' }));
      await h.handler(
        apiEvent({ body: '{"id":"a","secret-payload":1}', headers: { authorization: 'Bearer top-secret' } }),
        lambdaContext(),
      );
    } finally {
      spy.mockRestore();
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    const entry = lines.map((l) => l.trim()).find((l) => l.includes('request ingested'));
    expect(entry).toBeDefined();
    expect(JSON.parse(entry!)).toMatchObject({ level: 'INFO', message: 'request ingested', status: 202, accepted: 1 });
    expect(lines.join('\n')).not.toMatch(/top-secret|secret-payload/);
  });
});
