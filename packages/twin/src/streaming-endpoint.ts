import { STREAMING_PIPE } from '@snowgate/config';
import type { StreamChannels } from '@snowgate/functions/stream-delivery';
import { JwtSource, SnowpipeStreamingClient } from '@snowgate/snowflake-api';
import { generateKeyPairSync } from 'node:crypto';
import { type StreamingSink, startSnowpipeStreamingEndpoint } from './snowpipe-streaming';

/** The twin's Snowflake side, named as a deployed stage's: the account, the consumer's user, the pipe. */
export const TWIN_STREAMING = {
  account: 'SNOWGATE-LOCAL',
  user: 'SNOWGATE_LOADER',
  database: 'SNOWGATE',
  schema: 'RAW',
  pipe: STREAMING_PIPE,
} as const;

/**
 * Rows are committed this long after their append is answered, so that the consumer's wait for the committed
 * offset is exercised as against Snowflake (which takes seconds: the twin keeps it short, so that it stays a second
 * from POST to queryable).
 */
const TWIN_COMMIT_DELAY_MS = 50;

/** The endpoint keeps every request it answered, for the client's tests; the twin keeps none of them for long. */
const RECORDED_REQUESTS_KEPT = 1_000;

export interface StreamingEndpoint {
  /** The REST client of @snowgate/snowflake-api, signed in to the emulated endpoint: what the consumer appends through. */
  channels: StreamChannels;
  /** Requests the endpoint answered with an error (injected failures, 429s, refusals) or not at all. */
  errorAnswers(): number;
  /** Appends applied whose answer was lost (the connection reset after the rows were committed): the case exactly-once is about. */
  lostAppendAnswers(): number;
  close(): Promise<void>;
}

/**
 * Starts the emulated Snowpipe Streaming endpoint on a loopback port, on the given sink, and the
 * consumer's REST client for it. The key pair is made here, at each start, and only its public half
 * registered with the endpoint, as `ALTER USER … SET RSA_PUBLIC_KEY` does: the client signs its JWTs as
 * it does against Snowflake.
 */
export async function connectStreamingEndpoint({
  sink,
  failureRate,
}: {
  sink: StreamingSink;
  failureRate: number;
}): Promise<StreamingEndpoint> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { account, user, database, schema, pipe } = TWIN_STREAMING;
  const endpoint = await startSnowpipeStreamingEndpoint({
    account,
    user,
    publicKey,
    pipes: [{ database, schema, pipe }],
    sink,
    failureRate,
    commitDelayMs: TWIN_COMMIT_DELAY_MS,
    // Injected failures come as 429s too, half as often as the others.
    throttleRate: failureRate / 2,
    retryAfterSeconds: 1,
  });
  const client = new SnowpipeStreamingClient({
    baseUrl: endpoint.url,
    auth: new JwtSource({ account, user, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }),
    database,
    schema,
    pipe,
  });
  let errors = 0;
  let lost = 0;
  let counted = 0;
  const count = () => {
    for (const request of endpoint.requests.slice(counted)) {
      if (request.status !== 200) errors++;
      if (request.status === 'reset' && request.path.endsWith('/rows')) lost++;
    }
    counted = endpoint.requests.length;
  };
  const trim = setInterval(() => {
    count();
    const dropped = Math.max(0, endpoint.requests.length - RECORDED_REQUESTS_KEPT);
    endpoint.requests.splice(0, dropped);
    counted -= dropped;
  }, 5_000);
  trim.unref();
  return {
    channels: client,
    errorAnswers() {
      count();
      return errors;
    },
    lostAppendAnswers() {
      count();
      return lost;
    },
    async close() {
      clearInterval(trim);
      await endpoint.close();
    },
  };
}
