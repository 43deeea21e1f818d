import type http from 'node:http';
import type { UnroutedRequest } from './api-gateway';
import { isLocalRequest } from './local-request';
import type { TwinStatus } from './status';

/** What the twin's own routes answer from. */
export interface TwinRouteSources {
  status(): TwinStatus;
  /** Read statements only: the delivery thread checks each with DuckDB's own parser (warehouse.ts `readOnlyQuery`). */
  query(sql: string): Promise<unknown>;
  /** The dashboard's pages and data (`GET /`, `/ui/…`); answers true when it handled the request. */
  dashboard(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean>;
}

/**
 * The twin's own routes, not part of the deployed API, served on the API's port
 * for this machine only: `GET /status`, `POST /query` and the dashboard. Given
 * to the API Gateway emulation as its handler of unrouted requests.
 */
export function twinRoutes(sources: TwinRouteSources): (request: UnroutedRequest) => Promise<boolean> {
  return async ({ req, res, body, send }) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/status' && isLocalRequest(req)) {
      send(200, { 'content-type': 'application/json' }, JSON.stringify(sources.status(), null, 2));
      return true;
    }
    if (req.method === 'POST' && path === '/query' && isLocalRequest(req) && req.headers['x-snowgate-query'] === '1') {
      // The custom header makes a cross-origin page preflight, which this server never answers, and a loopback
      // Host keeps a DNS-rebound page out: only `pnpm query` and the twin's own dashboard can query.
      try {
        send(200, { 'content-type': 'application/json' }, JSON.stringify(await sources.query(body.toString('utf8'))));
      } catch (error) {
        send(
          400,
          { 'content-type': 'application/json' },
          JSON.stringify({ message: error instanceof Error ? error.message : String(error) }),
        );
      }
      return true;
    }
    return req.method === 'GET' && sources.dashboard(req, res);
  };
}
