/**
 * Bytes the server adds around a record on the stream: its envelope
 * `{"received_at":"…","request_id":"…","record":…}` is 84 bytes with a
 * 16-character request id, and an API key's producer name adds up to 78
 * (`,"producer":"…"`, 64 characters at most); this leaves room for request ids
 * up to 60 characters besides.
 */
export const ENVELOPE_OVERHEAD_BYTES = 206;

/**
 * What a request body may become inside API Gateway's event, the payload Lambda
 * is invoked with: Lambda's 6 MB (6,291,456 bytes,
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) less
 * 64 KiB for the headers and request context around it. A body over it can be
 * refused by API Gateway before Snowgate sees it.
 */
export const LAMBDA_BODY_BUDGET_BYTES = 6_291_456 - 65_536;

/**
 * The bytes a JSON text gains when API Gateway puts it in its event as a JSON
 * string: one for each `"` and `\` (escaped as `\"` and `\\`), five for a
 * control character (`\u001f`; JSON.stringify writes none outside strings).
 *
 * @example
 * escapeGrowth('{"a":"\\"b\\""}') // → 8: six quotes and two backslashes
 */
export function escapeGrowth(json: string): number {
  let grows = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) grows += 1;
    else if (c < 0x20) grows += 5;
  }
  return grows;
}

/**
 * UTF-8 length of a string, without encoding it. (JSON.stringify never
 * produces a lone surrogate, so every surrogate here is half of a pair.)
 *
 * @example
 * utf8Length('é€😀') // → 2 + 3 + 4 = 9
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A pair: two UTF-16 units, four bytes.
        bytes += 2;
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * What the server will count against `maxRecordBytes` for an event, at most:
 * its JSON as sent (`jsonBytes`), the envelope, and its id as the partition key.
 */
export function recordBytesOnStream(jsonBytes: number, event: { id?: unknown }): number {
  const id = event.id;
  const key = typeof id === 'string' ? utf8Length(id) : typeof id === 'number' ? String(id).length : 0;
  return jsonBytes + ENVELOPE_OVERHEAD_BYTES + key;
}
