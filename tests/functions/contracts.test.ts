import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigError, contractSettingsSchema, ingestResponseSchema, quarantineObjectSchema } from '@snowgate/core';
import { parseIngestSettings } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { bodyArb, contentTypeArb } from '../support/arbitraries';
import { apiEvent, lambdaContext } from '../support/events';
import { pageViewV2 } from '../support/contracts';
import { mockedHandler, parseBody } from './support';

const enforce = { contracts: { mode: 'enforce' as const }, schemasDir: 'schemas' };

describe('ingest handler with schema contracts', () => {
  it("enforce: quarantines a violation with the validator's errors and the schema, puts the rest on the stream (207)", async () => {
    const h = mockedHandler(enforce);
    const body = JSON.stringify([pageViewV2('ok-1'), pageViewV2('bad-1', { locale: 'english', tags: ['x', 'x'] })]);
    const response = await h.handler(apiEvent({ body }), lambdaContext());
    expect(response.statusCode).toBe(207);
    const answer = ingestResponseSchema.parse(parseBody(response));
    expect(answer.errors).toEqual([
      {
        index: 1,
        reason: 'schema_violation',
        message: expect.stringMatching(/^record 1 does not match page_view v2: \/locale must match pattern/),
      },
    ]);
    expect(h.envelopes().map((e) => JSON.parse(e).record.id)).toEqual(['ok-1']);
    const { object } = h.quarantined()[0]!;
    const q = quarantineObjectSchema.parse(object);
    expect(q.reasons).toEqual(['schema_violation']);
    expect(q.records[0]).toMatchObject({
      index: 1,
      reason: 'schema_violation',
      schema: { type: 'page_view', version: 2 },
      issues: [
        { path: ['locale'], keyword: 'pattern', schemaPath: '#/properties/locale/pattern' },
        { path: ['tags'], keyword: 'uniqueItems', schemaPath: '#/properties/tags/uniqueItems' },
      ],
      input: { encoding: 'utf8', data: JSON.stringify(pageViewV2('bad-1', { locale: 'english', tags: ['x', 'x'] })) },
    });
  });

  it('enforce with unknown: reject refuses a type without a schema as unknown_schema (422)', async () => {
    const h = mockedHandler({ ...enforce, contracts: { mode: 'enforce', unknown: 'reject' } });
    const response = await h.handler(apiEvent({ body: '{"id":"x","type":"invoice_paid"}' }), lambdaContext());
    expect(response.statusCode).toBe(422);
    expect(parseBody(response).errors[0]).toMatchObject({
      reason: 'unknown_schema',
      message: 'record 0 has type "invoice_paid", for which there is no schema',
    });
    expect(h.putRecordsCalls()).toEqual([]);
    expect(quarantineObjectSchema.parse(h.quarantined()[0]!.object).reasons).toEqual(['unknown_schema']);
  });

  it('warn: accepts everything, answers the warnings and logs them without the records', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const log = vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    let response: APIGatewayProxyStructuredResultV2;
    let h: ReturnType<typeof mockedHandler>;
    try {
      h = mockedHandler({ ...enforce, contracts: { mode: 'warn' } }, new Logger({ serviceName: 'snowgate-ingest', logLevel: 'INFO' }));
      response = await h.handler(
        apiEvent({ body: JSON.stringify([pageViewV2('w-0'), pageViewV2('w-1', { consent: 'secret-yes' })]) }),
        lambdaContext(),
      );
    } finally {
      spy.mockRestore();
      log.mockRestore();
    }
    expect(response.statusCode).toBe(202);
    expect(parseBody(response)).toMatchObject({
      accepted: 2,
      rejected: 0,
      errors: [],
      warnings: [{ index: 1, reason: 'schema_violation' }],
    });
    expect(h.envelopes()).toHaveLength(2);
    expect(h.quarantined()).toEqual([]);
    const entry = JSON.parse(lines.map((l) => l.trim()).find((l) => l.includes('request ingested'))!);
    expect(entry.schemaWarnings).toEqual([{ index: 1, reason: 'schema_violation', schema: 'page_view/2' }]);
    expect(lines.join('\n')).not.toContain('secret-yes');
  });

  it('starts the write budget after the assessment: slow judging of bad input is never a 503', async () => {
    const real = loadContracts(contractSettingsSchema.parse({ mode: 'enforce' }), 'schemas')!;
    // A judge slower than the whole write budget (400 ms here): the records still get their verdict and a 2xx/4xx.
    const slow = {
      ...real,
      check: (record: object, detail?: boolean) => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        return real.check(record, detail);
      },
    };
    const h = mockedHandler({ contracts: { mode: 'enforce' } }, undefined, slow);
    const response = await h.handler(
      apiEvent({ body: JSON.stringify([pageViewV2('s-1'), pageViewV2('s-2', { url: 1 })]) }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(207);
    expect(h.quarantined()).toHaveLength(1);
  });

  it('off: reads no schema at all, even from a directory that does not exist', async () => {
    const h = mockedHandler({ schemasDir: '/nonexistent' });
    const response = await h.handler(apiEvent({ body: JSON.stringify(pageViewV2('x', { url: 1 })) }), lambdaContext());
    expect(response.statusCode).toBe(202);
  });

  it('refuses to start when contracts are on and the schemas cannot be read: at cold start, never per request', () => {
    const settings = parseIngestSettings({
      streamName: 's',
      errorBucket: 'bucket',
      contracts: { mode: 'enforce' },
      schemasDir: '/nonexistent',
    });
    const clients = { kinesis: new KinesisClient({ region: 'us-east-1' }), s3: new S3Client({ region: 'us-east-1' }) };
    expect(() => createIngestHandler({ settings, ...clients })).toThrow(ConfigError);
  });
});

describe('property: no input produces a 500, with contracts enforced', () => {
  const contractRecord = fc.record(
    {
      id: fc.oneof(fc.string({ minLength: 1 }), fc.integer()),
      type: fc.constantFrom('page_view', 'order_placed', 'other', 42, null),
      schema_version: fc.oneof(fc.constantFrom(1, 2, 3, '2', 'x', null), fc.integer()),
      url: fc.oneof(fc.webUrl(), fc.string(), fc.integer()),
      occurred_at: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      items: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    },
    { requiredKeys: ['id'] },
  );
  const body = fc.oneof(
    bodyArb,
    fc.array(contractRecord, { minLength: 1, maxLength: 6 }).map((rs) => JSON.stringify(rs)),
  );

  it('answers 2xx or 4xx, every rejection quarantined with its reason', async () => {
    // Compiled once, as at a cold start; each run gets a fresh handler around them.
    const compiled = {
      accept: loadContracts(contractSettingsSchema.parse({ mode: 'enforce', unknown: 'accept' }), 'schemas'),
      reject: loadContracts(contractSettingsSchema.parse({ mode: 'enforce', unknown: 'reject' }), 'schemas'),
    };
    await fc.assert(
      fc.asyncProperty(body, contentTypeArb, fc.constantFrom('accept', 'reject'), async (text, contentType, unknown) => {
        const h = mockedHandler(
          { contracts: { mode: 'enforce', unknown }, limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 } },
          undefined,
          compiled[unknown],
        );
        const response = await h.handler(apiEvent({ body: text, contentType }), lambdaContext());
        const status = response.statusCode ?? 0;
        expect([202, 207, 400, 413, 415, 422]).toContain(status);
        const answer = ingestResponseSchema.parse(parseBody(response));
        expect(h.envelopes()).toHaveLength(answer.accepted);
        expect(h.quarantined()).toHaveLength(answer.rejected > 0 || status >= 400 ? 1 : 0);
        for (const q of h.quarantined()) quarantineObjectSchema.parse(q.object);
      }),
      { numRuns: 300 },
    );
  });
});
