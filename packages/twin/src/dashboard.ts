import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { quarantineObjectSchema } from '@snowgate/core';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { isLocalRequest } from './local-request';
import type { TwinStatus } from './status';

/**
 * The twin's dashboard: `GET /` serves a page (plain HTML, CSS and script from
 * `dashboard/`, no build step) that polls the JSON below. Everything here is
 * for the machine's own user only: loopback peers, a loopback `Host` (no DNS
 * rebinding), same-origin fetches (`Sec-Fetch-Site`), no framing, and a
 * Content-Security-Policy that allows nothing but this origin.
 */

/** One sample a second, ten minutes of them. */
const SAMPLE_MS = 1_000;
const SAMPLES = 600;
/** Quarantine objects remembered (their keys) and summarized for the list. */
const RECENT_QUARANTINE = 50;

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface Sample {
  t: number;
  accepted: number;
  quarantined: number;
  delivered: number;
  loaded: number;
  skippedFiles: number;
  bufferedEvents: number;
  filesWaiting: number;
  oldestBufferedMs: number;
}

export interface QuarantineSummary {
  key: string;
  received_at?: string;
  request_id?: string;
  status?: number;
  reasons?: string[];
  rejected?: number;
  producer?: string;
}

export interface DashboardSources {
  status(): TwinStatus;
  query(sql: string): Promise<unknown>;
  s3: S3Client;
  errorsBucket: string;
  errorPrefix: string;
}

/** A browser tells where a request comes from; only this page (or a typed URL) may read the dashboard's data. */
function isSameOrigin(req: http.IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

export function createDashboard(sources: DashboardSources) {
  const assets = Object.fromEntries(
    Object.entries(ASSETS).map(([path, a]) => [path, { ...a, body: readFileSync(new URL(`./dashboard/${a.file}`, import.meta.url)) }]),
  );
  const samples: Sample[] = [];
  const sample = () => {
    const s = sources.status();
    samples.push({
      t: Date.now(),
      accepted: s.api.accepted,
      quarantined: s.api.quarantinedRecords,
      delivered: s.firehose.deliveredEvents,
      // In streaming the rows come through the channels, not the files.
      loaded: s.streaming ? s.streaming.channels.reduce((n, c) => n + c.rowsInserted, 0) : s.snowpipe.loadedRows,
      skippedFiles: s.snowpipe.skippedFiles,
      bufferedEvents: s.lag.bufferedEvents,
      filesWaiting: s.lag.filesWaiting,
      oldestBufferedMs: s.lag.oldestBufferedMs,
    });
    if (samples.length > SAMPLES) samples.splice(0, samples.length - SAMPLES);
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();

  // The newest quarantine keys: those written while the twin runs (S3 events), and today's at start.
  const recent: string[] = [];
  const summaries = new Map<string, QuarantineSummary>();
  const remember = (key: string) => {
    if (!key.startsWith(sources.errorPrefix) || recent.includes(key)) return;
    recent.push(key);
    recent.sort();
    while (recent.length > RECENT_QUARANTINE) summaries.delete(recent.shift()!);
  };
  const seeded = (async () => {
    const prefix = `${sources.errorPrefix}dt=${new Date().toISOString().slice(0, 10)}/`;
    let token: string | undefined;
    for (let page = 0; page < 20; page++) {
      const out = await sources.s3.send(
        new ListObjectsV2Command({ Bucket: sources.errorsBucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) remember(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
      if (!token) break;
    }
  })().catch(() => undefined);

  const readObject = async (key: string) => {
    const out = await sources.s3.send(new GetObjectCommand({ Bucket: sources.errorsBucket, Key: key }));
    return quarantineObjectSchema.parse(JSON.parse(await out.Body!.transformToString()));
  };
  const summarize = async (key: string): Promise<QuarantineSummary> => {
    const known = summaries.get(key);
    if (known) return known;
    try {
      const o = await readObject(key);
      const summary = {
        key,
        received_at: o.received_at,
        request_id: o.request_id,
        status: o.status,
        reasons: o.reasons,
        rejected: o.rejected,
        ...(o.producer ? { producer: o.producer } : {}),
      };
      summaries.set(key, summary);
      return summary;
    } catch {
      return { key };
    }
  };

  const json = (res: http.ServerResponse, status: number, value: unknown) => {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  return {
    /** A quarantine object was written (from the S3 emulator's events). */
    quarantined: remember,
    stop: () => clearInterval(timer),
    /** Answers the dashboard's routes; false for any other path. */
    async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const isApi = url.pathname.startsWith('/ui/api/');
      if (url.pathname === '/favicon.ico') {
        // Browsers ask for it; there is none.
        res.writeHead(204, SECURITY_HEADERS);
        res.end();
        return true;
      }
      if (!(url.pathname in ASSETS) && !isApi) return false;
      if (!isLocalRequest(req) || (isApi && !isSameOrigin(req))) {
        json(res, 403, { message: 'The dashboard answers this machine only (loopback, same origin)' });
        return true;
      }
      const asset = assets[url.pathname];
      if (asset) {
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': asset.body.length });
        res.end(asset.body);
        return true;
      }
      if (url.pathname === '/ui/api/series') {
        json(res, 200, { stepMs: SAMPLE_MS, samples });
      } else if (url.pathname === '/ui/api/quarantine') {
        await seeded;
        const keys = recent.slice(-20).reverse();
        json(res, 200, { objects: await Promise.all(keys.map(summarize)) });
      } else if (url.pathname === '/ui/api/quarantine/object') {
        const key = url.searchParams.get('key') ?? '';
        // Only quarantine objects, by their exact key.
        if (!key.startsWith(sources.errorPrefix) || key.includes('..') || !key.endsWith('.json')) {
          json(res, 400, { message: 'not a quarantine key' });
        } else {
          try {
            json(res, 200, await readObject(key));
          } catch (error) {
            json(res, (error as Error).name === 'NoSuchKey' ? 404 : 500, { message: (error as Error).message });
          }
        }
      } else if (url.pathname === '/ui/api/copy-history') {
        json(
          res,
          200,
          await sources.query(
            `SELECT file_name, status, row_count, row_parsed, first_error_message, first_error_line_number, last_load_time::VARCHAR AS last_load_time FROM copy_history ORDER BY last_load_time DESC LIMIT 30`,
          ),
        );
      } else {
        json(res, 404, { message: 'Not Found' });
      }
      return true;
    },
  };
}
