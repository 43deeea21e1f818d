import { envelopeSchema, quarantineObjectSchema } from '@snowgate/core';
import { describe, expect, it } from 'vitest';
import { apiEvent, lambdaContext } from '../support/events';
import { mockedHandler } from './support';

// Who sent each event, under each auth mode, as API Gateway's payload 2.0 hands it to the handler
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
// on every envelope (so in RAW_EVENTS' AUTH and PRODUCER columns) and in the quarantine.
describe('the caller on every envelope and quarantine object', () => {
  const iam = {
    iam: {
      accessKey: 'ASIAEXAMPLE',
      accountId: '123456789012',
      callerId: 'AROAEXAMPLE:orders-worker',
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: 'arn:aws:sts::123456789012:assumed-role/orders-producer/orders-worker',
      userId: 'AROAEXAMPLE:orders-worker',
    },
  };
  const jwt = { jwt: { claims: { sub: 'svc-billing', iss: 'https://auth.example.com/', aud: 'snowgate' }, scopes: null } };

  it.each([
    ['iam', iam, 'arn:aws:sts::123456789012:assumed-role/orders-producer/orders-worker'],
    ['jwt', jwt, 'svc-billing'],
    ['apiKey', { lambda: { producer: 'acme-web', keyId: 'k1' } }, 'acme-web'],
  ])('under %s', async (auth, authorizer, producer) => {
    const h = mockedHandler();
    const event = apiEvent({ body: '[{"id":"c-1"},{"no":"id"}]' });
    (event.requestContext as unknown as { authorizer: unknown }).authorizer = authorizer;
    expect((await h.handler(event, lambdaContext())).statusCode).toBe(207);
    const [envelope, ...more] = h.envelopes();
    expect(more).toEqual([]);
    expect(envelopeSchema.parse(JSON.parse(envelope!))).toMatchObject({ auth, producer, record: { id: 'c-1' } });
    expect(quarantineObjectSchema.parse(h.quarantined()[0]!.object)).toMatchObject({ auth, producer });
  });

  it('names nobody when the stage checks nobody (auth mode none)', async () => {
    const h = mockedHandler();
    expect((await h.handler(apiEvent({ body: '{"id":"c-2"}' }), lambdaContext())).statusCode).toBe(202);
    const envelope = envelopeSchema.parse(JSON.parse(h.envelopes()[0]!));
    expect([envelope.auth, envelope.producer]).toEqual([undefined, undefined]);
  });
});
