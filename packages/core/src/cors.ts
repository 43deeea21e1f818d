import * as z from './zod';

/**
 * CORS for web pages that send events, as API Gateway's HTTP API applies it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
 * the gateway answers preflights itself and adds the headers to every answer; the
 * function never sees an `OPTIONS`. The stack configures it from these values and the
 * twin's API Gateway emulation applies the same ones.
 */

/**
 * The request headers a page may send, by name: `*` does not cover `Authorization`
 * (Fetch: a "CORS non-wildcard request-header name"), so every header the browser SDKs
 * send is listed. Segment's analytics.js sends `Authorization` (≥ 1.84) and
 * `X-Retry-Count` on retries; RudderStack's XHR transport `Authorization`, `AnonymousId`,
 * `SentAt` and, on retries, its `Rsa-*` headers.
 */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'x-retry-count',
  'anonymousid',
  'sentat',
  'rsa-recovered',
  'rsa-retry-attempt',
  'rsa-since-last-attempt',
  'rsa-since-first-attempt',
  'rsa-retry-reason',
] as const;

/** Methods a page may use: POST to send, GET for the SDKs' settings. (`OPTIONS` is the gateway's own.) */
export const CORS_ALLOW_METHODS = ['GET', 'POST'] as const;

/** Response headers a page may read: the SDKs honour `Retry-After` on 429 and 503 only when they can see it. */
export const CORS_EXPOSE_HEADERS = ['retry-after'] as const;

/**
 * How long a browser may reuse a preflight answer: two hours, Chromium's cap
 * (https://source.chromium.org/chromium/chromium/src/+/main:services/network/public/cpp/cors/preflight_result.cc,
 * `kMaxTimeout`); Firefox caps at a day.
 */
export const CORS_MAX_AGE_SECONDS = 7_200;

/** An origin as a browser sends it: scheme, host and an optional port, no path. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/i;

/**
 * A stage's CORS setting: the origins whose pages may send events. `["*"]` (the
 * default) lets any page send: the API answers nothing a page could misuse (no
 * cookies, no credentials, only counts and a request id), and a browser's write key is
 * public anyway; what keeps other sites' pages out is binding a key to origins
 * (`pnpm keys create --allowed-origin`). An empty list turns CORS off.
 */
export const corsSettingsSchema = z.object({
  allowOrigins: z._default(
    z.array(z.string().check(z.refine((o) => o === '*' || ORIGIN.test(o), 'an origin (https://shop.example) or "*"'))),
    ['*'],
  ),
  maxAgeSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), CORS_MAX_AGE_SECONDS),
});
export type CorsSettings = z.infer<typeof corsSettingsSchema>;

/**
 * The origin a page presents, as the origins are written in settings and key records
 * (lower-cased scheme and host), or undefined when absent or not an origin.
 *
 * @example
 * normalizeOrigin('HTTPS://Shop.Example') // → 'https://shop.example'
 */
export function normalizeOrigin(origin: string | undefined): string | undefined {
  const value = origin?.trim();
  if (!value || !ORIGIN.test(value)) return undefined;
  return value.toLowerCase();
}
