import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface Received {
  /** performance.now() when the whole body had arrived. */
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body as received (compressed when it was sent so). */
  raw: Buffer;
  /** The body as JSON, gunzipped when Content-Encoding says gzip. */
  json: unknown;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | 'reset' | 'hang';

export interface FakeServer {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

/** Records every request and answers it with `handler` (its nth request, from 0). */
export async function fakeServer(handler: (req: Received, n: number) => Reply | Promise<Reply>): Promise<FakeServer> {
  const requests: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    let json: unknown;
    try {
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const received: Received = { at: performance.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, json };
    const n = requests.push(received) - 1;
    const reply = await handler(received, n);
    if (reply === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (reply === 'hang') {
      hanging.add(res);
      return;
    }
    const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...reply.headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What Snowgate answers when it takes a batch: 202, or 207 with the errors given (by index). */
export function answer(
  req: Received,
  errors: { index: number; reason: string; message?: string }[] = [],
  extra: Record<string, unknown> = {},
): Reply {
  const n = Array.isArray(req.json) ? req.json.length : 1;
  return {
    status: errors.length === 0 ? 202 : 207,
    headers: { 'apigw-requestid': `req-${Math.random().toString(36).slice(2, 10)}` },
    body: {
      requestId: `rid-${n}`,
      accepted: n - errors.length,
      rejected: errors.length,
      errors: errors.map((e) => ({ message: `record ${e.index}: ${e.reason}`, ...e })),
      ...extra,
    },
  };
}

/** The events of a request, as an array. */
export function eventsOf(req: Received): Record<string, unknown>[] {
  return req.json as Record<string, unknown>[];
}
