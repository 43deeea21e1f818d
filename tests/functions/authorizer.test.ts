import { Logger } from '@aws-lambda-powertools/logger';
import { GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { envelopeSchema, generateApiKey, quarantineObjectSchema } from '@snowgate/core';
import { createApiKeyAuthorizer } from '@snowgate/functions/api-key-authorizer';
import { apiKeyParameterPrefix, ssmApiKeyStore } from '@snowgate/functions/api-key-store';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { apiEvent, lambdaContext } from '../support/events';
import { mockedHandler } from './support';

describe('API keys in AWS: the SSM store and the Lambda authorizer', () => {
  const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
  const prefix = apiKeyParameterPrefix('dev');

  it('keeps one String parameter per key under the stage path, and reads a missing one as unknown', async () => {
    const mock = mockClient(ssm);
    const { record } = generateApiKey('acme-web');
    mock.on(PutParameterCommand).resolves({});
    mock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    mock.on(GetParameterCommand, { Name: `${prefix}${record.key_id}` }).resolves({ Parameter: { Value: JSON.stringify(record) } });
    mock
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Value: JSON.stringify(record) }], NextToken: 't' })
      .resolves({ Parameters: [] });
    const store = ssmApiKeyStore(ssm, prefix);
    await store.put(record);
    expect(mock.commandCalls(PutParameterCommand)[0]!.args[0].input).toMatchObject({
      Name: `/snowgate/dev/api-keys/${record.key_id}`,
      Type: 'String',
      Overwrite: true,
    });
    expect(await store.get(record.key_id)).toEqual(record);
    expect(await store.get('zzzzzzzzzzzz')).toBeUndefined();
    expect(await store.list()).toEqual([record]);
    mock.restore();
  });

  it('authorizes with the producer in the context, refuses otherwise, and never logs the key', async () => {
    const { key, record } = generateApiKey('acme-web');
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      const authorize = createApiKeyAuthorizer({
        store: { get: async (id) => (id === record.key_id ? record : undefined) },
        header: 'x-api-key',
        logger: new Logger({ serviceName: 'test', logLevel: 'INFO' }),
      });
      const event = (value?: string) => ({
        headers: value === undefined ? {} : { 'x-api-key': value },
        requestContext: { requestId: 'r1' } as never,
      });
      expect(await authorize(event(key))).toEqual({ isAuthorized: true, context: { producer: 'acme-web', keyId: record.key_id } });
      expect(await authorize(event(`${key.slice(0, 16)}${'A'.repeat(43)}`))).toEqual({ isAuthorized: false, context: {} });
      expect(await authorize(event())).toEqual({ isAuthorized: false, context: {} });
    } finally {
      spy.mockRestore();
      warn.mockRestore();
    }
    const logged = lines.join('\n');
    expect(logged).toContain('"reason":"mismatch"');
    expect(logged).toContain(record.key_id);
    expect(logged).not.toContain(key.slice(16));
    expect(logged).not.toContain('A'.repeat(43));
  });

  it("the ingest handler puts the authorizer's producer in every envelope and the quarantine, and never the key", async () => {
    const h = mockedHandler();
    const event = apiEvent({ body: '[{"id":"p-1"},{"no":"id"}]', headers: { 'x-api-key': 'sg_secretsecret_value' } });
    (event.requestContext as unknown as { authorizer: unknown }).authorizer = { lambda: { producer: 'acme-web', keyId: 'abc' } };
    const response = await h.handler(event, lambdaContext());
    expect(response.statusCode).toBe(207);
    const entry = h.putRecordsCalls()[0]![0]!;
    expect(envelopeSchema.parse(JSON.parse(entry.data)).producer).toBe('acme-web');
    expect(entry.data).toMatch(
      /^\{"received_at":"[^"]+","request_id":"[^"]+","auth":"apiKey","producer":"acme-web","record":\{"id":"p-1"\}\}$/,
    );
    const q = quarantineObjectSchema.parse(h.quarantined()[0]!.object);
    expect(q.producer).toBe('acme-web');
    expect(JSON.stringify(q)).not.toContain('sg_secret');
  });

  it('on the Segment routes, reads the key as the user name of Authorization: Basic (the write key), and only there', async () => {
    const { key, record } = generateApiKey('acme-segment');
    const authorize = createApiKeyAuthorizer({
      store: { get: async (id) => (id === record.key_id ? record : undefined) },
      header: 'x-api-key',
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
    const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const event = (routeKey: string, headers: Record<string, string>) => ({
      headers,
      requestContext: { requestId: 'r1', routeKey } as never,
    });
    const allowed = { isAuthorized: true, context: { producer: 'acme-segment', keyId: record.key_id } };
    const refused = { isAuthorized: false, context: {} };
    for (const route of ['batch', 'track', 'identify', 'page', 'screen', 'group', 'alias']) {
      expect(await authorize(event(`POST /v1/${route}`, { authorization: basic(key) }))).toEqual(allowed);
    }
    // The password is not read; a wrong key, no user name, or another scheme is refused.
    expect(await authorize(event('POST /v1/batch', { authorization: basic(key, 'ignored') }))).toEqual(allowed);
    expect(await authorize(event('POST /v1/batch', { authorization: basic(`${key.slice(0, 16)}${'A'.repeat(43)}`) }))).toEqual(refused);
    expect(await authorize(event('POST /v1/batch', { authorization: basic('', key) }))).toEqual(refused);
    expect(await authorize(event('POST /v1/batch', { authorization: `Bearer ${key}` }))).toEqual(refused);
    // The x-api-key header means nothing on a Segment route, and Basic nothing on /events.
    expect(await authorize(event('POST /v1/batch', { 'x-api-key': key }))).toEqual(refused);
    expect(await authorize(event('POST /events', { authorization: basic(key) }))).toEqual(refused);
    expect(await authorize(event('POST /events', { 'x-api-key': key }))).toEqual(allowed);
  });
});
