/**
 * `pnpm bench:compression`: how much gzip shrinks landing files made of our own envelopes,
 * by event shape and size, the ratio the cost model prices landing storage with
 * (LANDING_GZIP_STORED_SHARE in packages/cost/src/assumptions.ts). Each file is what the twin's Firehose
 * writes: envelopes (received_at, request_id, the record as sent), one per line, up to the
 * 1 MiB buffer, gzip at zlib's default level. Deterministic: a seeded generator, no clock.
 *
 *   pnpm bench:compression            # the table
 *   pnpm bench:compression --json     # machine-readable
 */
import { gzipSync } from 'node:zlib';
import { parseCommandLine } from '../cli/args';
import { machineInfo } from './support/machine';

const USAGE = `Usage: pnpm bench:compression [--json]

Measures gzip's ratio on 1 MiB landing files of Snowgate envelopes, for several
event shapes and sizes (seeded, repeatable).

Options:
  --json       print the results as JSON
  -h, --help   print this help`;

const { values } = parseCommandLine('pnpm bench:compression', USAGE, { options: { json: { type: 'boolean' } } });

/** A small seeded generator (mulberry32): the same files on every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Shape = (r: () => number, i: number, bytes: number) => Record<string, unknown>;
const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const uuid = (r: () => number) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
const pick = <T>(r: () => number, xs: T[]) => xs[Math.floor(r() * xs.length)]!;
const pad = (event: Record<string, unknown>, bytes: number, fill: () => string) => {
  const room = bytes - JSON.stringify(event).length - 12;
  return room > 0 ? { ...event, extra: fill().slice(0, room).padEnd(room, 'x') } : event;
};

const WORDS =
  'leather tote bag black brown canvas sneaker running shoe size 38 39 40 41 42 wool scarf grey blue summer sale new arrival gift card express shipping free returns bundle'.split(
    ' ',
  );

const SHAPES: Record<string, Shape> = {
  /** A product event as Segment's SDKs send it: ids, timestamps, a page context, a few properties. */
  'analytics track': (r, i, bytes) =>
    pad(
      {
        id: uuid(r),
        type: 'track',
        event: pick(r, ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Signed In']),
        userId: `user-${Math.floor(r() * 50_000)}`,
        anonymousId: uuid(r),
        timestamp: new Date(1_780_000_000_000 + i * 37).toISOString(),
        properties: {
          sku: `SKU-${Math.floor(r() * 9_000)}`,
          price: Math.round(r() * 20_000) / 100,
          currency: 'EUR',
          quantity: 1 + Math.floor(r() * 4),
        },
        context: {
          ip: `${Math.floor(r() * 223)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`,
          page: {
            path: pick(r, ['/', '/cart', '/checkout', '/p/shoes', '/p/bags']),
            url: 'https://shop.example/',
            referrer: 'https://www.google.com/',
          },
          userAgent: pick(r, [
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
            'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
          ]),
          library: { name: 'analytics.js', version: '5.2.0' },
        },
      },
      bytes,
      // More properties of the same kind: product names and categories from a catalogue, as product events carry.
      () => Array.from({ length: bytes / 6 }, () => pick(r, WORDS)).join(' '),
    ),
  /** A webhook or log line: mostly text that repeats (keys, enums), numbers and ids. */
  'log line': (r, i, bytes) =>
    pad(
      {
        id: i,
        level: pick(r, ['info', 'info', 'info', 'warn', 'error']),
        service: pick(r, ['checkout', 'search', 'auth']),
        message: pick(r, ['request served', 'cache miss', 'upstream slow', 'token refreshed']),
        latency_ms: Math.floor(r() * 900),
        trace: hex(r, 32),
      },
      bytes,
      () => pick(r, ['GET /api/v1/items?page=', 'POST /api/v1/orders ', 'status=200 bytes=']).repeat(bytes),
    ),
  /** The worst case: an id and random base64, which nothing compresses. */
  'random payload': (r, i, bytes) =>
    pad({ id: i }, bytes, () => Buffer.from(Array.from({ length: bytes }, () => Math.floor(r() * 256))).toString('base64')),
};

const FILE_BYTES = 1_048_576;
const results: { shape: string; eventBytes: number; lines: number; rawBytes: number; gzipBytes: number; ratio: number }[] = [];
for (const [shape, make] of Object.entries(SHAPES)) {
  for (const eventBytes of [200, 1_000, 5_000]) {
    const r = random(eventBytes);
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < FILE_BYTES; i++) {
      const line = JSON.stringify({
        received_at: new Date(1_780_000_000_000 + i * 3).toISOString(),
        request_id: `${hex(r, 12)}=`,
        record: make(r, i, eventBytes),
      });
      if (size + line.length + 1 > FILE_BYTES) break;
      lines.push(line);
      size += line.length + 1;
    }
    const raw = Buffer.from(`${lines.join('\n')}\n`);
    const gzipBytes = gzipSync(raw).byteLength;
    results.push({ shape, eventBytes, lines: lines.length, rawBytes: raw.byteLength, gzipBytes, ratio: gzipBytes / raw.byteLength });
  }
}

if (values.json) {
  console.log(JSON.stringify({ machine: machineInfo(), fileBytes: FILE_BYTES, results }, null, 2));
} else {
  console.log('shape             event B   lines   gzip B   stored share   smaller');
  for (const x of results) {
    console.log(
      `${x.shape.padEnd(16)} ${String(x.eventBytes).padStart(8)} ${String(x.lines).padStart(7)} ${String(x.gzipBytes).padStart(8)} ${`${(x.ratio * 100).toFixed(1)} %`.padStart(14)} ${`${(1 / x.ratio).toFixed(1)}x`.padStart(9)}`,
    );
  }
}
