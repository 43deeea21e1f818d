import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Auth } from './types.js';

export interface OutgoingRequest {
  url: URL;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Exactly the bytes that will be sent. */
  body: string | Uint8Array;
}

/** Returns the headers an attempt must carry for this auth (called before every attempt: tokens and signatures are fresh each time). */
export type Authorizer = (request: OutgoingRequest) => Promise<Record<string, string>>;

export function createAuthorizer(auth: Auth): Authorizer {
  switch (auth.type) {
    case 'none':
      return async () => ({});
    case 'apiKey': {
      if (!auth.key) throw new TypeError('auth apiKey: key is required');
      const header = (auth.header ?? 'x-api-key').toLowerCase();
      return async () => ({ [header]: auth.key });
    }
    case 'jwt': {
      const getToken = 'getToken' in auth ? auth.getToken : () => auth.token;
      if (typeof getToken !== 'function') throw new TypeError('auth jwt: token or getToken() is required');
      return async () => {
        const token = await getToken();
        if (!token) throw new TypeError('auth jwt: getToken() returned no token');
        return { authorization: `Bearer ${token}` };
      };
    }
    case 'iam': {
      if (!auth.region) throw new TypeError('auth iam: region is required');
      if (!auth.credentials) throw new TypeError('auth iam: credentials (or a credential provider) are required');
      const signer = new SignatureV4({
        service: auth.service ?? 'execute-api',
        region: auth.region,
        credentials: auth.credentials,
        sha256: Sha256,
      });
      return async ({ url, method, headers, body }) => {
        const query: Record<string, string | string[]> = {};
        for (const [name, value] of url.searchParams) {
          const seen = query[name];
          query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
        }
        const signed = await signer.sign({
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          query,
          // fetch sends Host from the URL, as URL.host spells it (no default port).
          headers: { ...headers, host: url.host },
          body,
        });
        const added: Record<string, string> = {};
        for (const [name, value] of Object.entries(signed.headers)) {
          const lower = name.toLowerCase();
          if (lower !== 'host' && headers[lower] === undefined) added[lower] = value;
        }
        return added;
      };
    }
    default:
      throw new TypeError(`unknown auth type ${(auth as { type: unknown }).type}`);
  }
}
