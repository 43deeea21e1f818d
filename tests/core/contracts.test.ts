import {
  assessRequest,
  ConfigError,
  contractSettingsSchema,
  limitsSchema,
  responseOf,
  statusOf,
  type ContractSettings,
  type IncomingRequest,
} from '@snowgate/core';
import { readSchemaDir, compileContracts } from '@snowgate/contracts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pageViewV2 } from '../support/contracts';

const limits = limitsSchema.parse({});
const settings = (extra: Partial<ContractSettings> = {}) => contractSettingsSchema.parse({ mode: 'enforce', ...extra });
const repo = (extra: Partial<ContractSettings> = {}) => compileContracts(readSchemaDir('schemas'), settings(extra));

function request(body: unknown): IncomingRequest {
  return {
    requestId: 'req-c',
    receivedAt: new Date('2026-12-03T08:00:01.000Z'),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

describe('the repository schemas', () => {
  it('all read and compile under the strict settings synth and the handler use', () => {
    const contracts = repo();
    expect(contracts.schemas).toEqual([
      { type: 'order_placed', version: 1 },
      { type: 'page_view', version: 1 },
      { type: 'page_view', version: 2 },
    ]);
    expect(contracts.check(pageViewV2('e1'))).toEqual({ ok: true, schema: { type: 'page_view', version: 2 } });
  });
});

describe('contract verdicts', () => {
  it('picks the schema by type and version, and the newest version when none is named', () => {
    const contracts = repo();
    const v1 = { id: 'e1', type: 'page_view', schema_version: 1, url: 'https://example.com/', occurred_at: '2026-12-03T08:00:00Z' };
    expect(contracts.check(v1)).toEqual({ ok: true, schema: { type: 'page_view', version: 1 } });
    // A string of digits names a version too, and the schemas allow it.
    expect(contracts.check({ ...v1, schema_version: '1' })).toEqual({ ok: true, schema: { type: 'page_view', version: 1 } });
    // A complete v2 record that names no version is checked against v2, the newest, and passes.
    const { schema_version: __, ...v2 } = pageViewV2('e2');
    expect(contracts.check(v2)).toEqual({ ok: true, schema: { type: 'page_view', version: 2 } });
    const { schema_version: _, ...unversioned } = v1;
    expect(contracts.check(unversioned)).toMatchObject({
      ok: false,
      reason: 'schema_violation',
      schema: { type: 'page_view', version: 2 },
    });
    expect(repo({ missingVersion: 'unknown' }).check(unversioned)).toEqual({ ok: true });
    expect(repo({ missingVersion: 'unknown', unknown: 'reject' }).check(unversioned)).toMatchObject({
      ok: false,
      reason: 'unknown_schema',
    });
  });

  it("keeps the validator's errors with their paths, keywords and the schema they come from", () => {
    const record = pageViewV2('e1', { url: 'not a uri', device: { kind: 'fridge', extra: 1 }, session_id: undefined });
    // Without detail, the verdict stops at the first error.
    expect(repo().check(record)).toMatchObject({ ok: false, issues: [{ keyword: 'required' }] });
    const verdict = repo().check(record, true);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.reason).toBe('schema_violation');
    expect(verdict.schema).toEqual({ type: 'page_view', version: 2 });
    const byKeyword = Object.fromEntries(verdict.issues.map((i) => [i.keyword, i]));
    expect(byKeyword.format).toMatchObject({ path: ['url'], message: 'must match format "uri"', schemaPath: '#/properties/url/format' });
    expect(byKeyword.enum).toMatchObject({ path: ['device', 'kind'] });
    expect(byKeyword.additionalProperties).toMatchObject({ path: ['device', 'extra'], message: 'is not allowed by the schema' });
    expect(verdict.message).toBe(
      'does not match page_view v2: /session_id is required; /url must match format "uri"; /device/extra is not allowed by the schema (and 1 more)',
    );
  });

  it('treats unknown types, unknown versions and records without a type by the `unknown` setting', () => {
    for (const record of [
      { id: 1, type: 'nope' },
      { id: 1 },
      { id: 1, type: 42 },
      { id: 1, type: 'page_view', schema_version: 9 },
      { id: 1, type: 'page_view', schema_version: 'v2' },
    ]) {
      expect(repo().check(record)).toEqual({ ok: true });
      expect(repo({ unknown: 'reject' }).check(record)).toMatchObject({ ok: false, reason: 'unknown_schema', issues: [] });
    }
    expect(repo({ unknown: 'reject' }).check({ id: 1, type: 'page_view', schema_version: 9 })).toMatchObject({
      schema: { type: 'page_view', version: 9 },
    });
  });

  it('reads nested selector fields, own properties only', () => {
    const contracts = compileContracts(
      readSchemaDir('schemas'),
      settings({ typeField: 'meta.type', versionField: 'meta.v', unknown: 'reject' }),
    );
    expect(contracts.check({ id: 1, meta: { type: 'order_placed', v: 1 } })).toMatchObject({
      ok: false,
      reason: 'schema_violation',
      schema: { type: 'order_placed', version: 1 },
    });
    const inherited = Object.create({ type: 'order_placed' }) as object;
    expect(contracts.check({ id: 1, meta: inherited })).toMatchObject({ reason: 'unknown_schema' });
    expect(() => contractSettingsSchema.parse({ typeField: '__proto__.x' })).toThrow();
    expect(() => contractSettingsSchema.parse({ typeField: 'a..b' })).toThrow();
  });

  it('caps the issues kept for one record', () => {
    const schema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, { type: 'string' }])) };
    const contracts = compileContracts([{ type: 't', version: 1, source: 't/1.json', schema }], settings());
    const verdict = contracts.check({ id: 1, type: 't', ...Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, i])) }, true);
    expect(!verdict.ok && verdict.issues).toHaveLength(50);
    expect(!verdict.ok && verdict.message).toMatch(/\(and 77 more\)$/);
  });
});

describe('contracts in the assessment', () => {
  const batch = [pageViewV2('ok-1'), pageViewV2('bad-1', { url: 42 }), { id: 'other', type: 'signup' }];

  it('enforce: a violation is rejected and quarantined with its schema; the rest is accepted (207)', () => {
    const a = assessRequest(request(batch), limits, repo());
    expect(statusOf(a)).toBe(207);
    expect(a.accepted.map((r) => r.partitionKey)).toEqual(['ok-1', 'other']);
    expect(a.rejected).toEqual([
      expect.objectContaining({
        index: 1,
        reason: 'schema_violation',
        schema: { type: 'page_view', version: 2 },
        input: JSON.stringify(batch[1]),
      }),
    ]);
    expect(a.rejected[0]!.issues[0]).toMatchObject({ path: ['url'], keyword: 'type' });
    expect(responseOf(a).errors).toEqual([
      { index: 1, reason: 'schema_violation', message: 'record 1 does not match page_view v2: /url must be string' },
    ]);
    expect(responseOf(a)).not.toHaveProperty('warnings');
  });

  it('enforce: a request whose every record breaks its contract is a 422', () => {
    const a = assessRequest(request([pageViewV2('b', { consent: 'yes' })]), limits, repo());
    expect(statusOf(a)).toBe(422);
    const b = assessRequest(request({ id: 'x', type: 'mystery' }), limits, repo({ unknown: 'reject' }));
    expect([statusOf(b), b.rejected[0]!.reason]).toEqual([422, 'unknown_schema']);
  });

  it('warn: everything is accepted, and what enforce would reject is reported as warnings', () => {
    const a = assessRequest(request(batch), limits, repo({ mode: 'warn' }));
    expect(statusOf(a)).toBe(202);
    expect(a.accepted).toHaveLength(3);
    expect(a.rejected).toEqual([]);
    expect(responseOf(a).warnings).toEqual([
      { index: 1, reason: 'schema_violation', message: 'record 1 does not match page_view v2: /url must be string' },
    ]);
  });

  it('collects every error for the first ten failing records of a request, and for none over 16 KiB: the work is bounded', () => {
    const bad = (i: number) => pageViewV2(`b-${i}`, { url: 1, title: 2, locale: 3 });
    const a = assessRequest(
      request([...Array.from({ length: 12 }, (_, i) => bad(i)), pageViewV2('huge', { tags: Array.from({ length: 20_000 }, (_, i) => i) })]),
      limits,
      repo(),
    );
    expect(a.rejected.map((r) => r.issues.length)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1]);
    // A record far over the size for detail: 20,000 wrong items, judged by its first error alone.
    const one = assessRequest(request([pageViewV2('huge', { tags: Array.from({ length: 20_000 }, (_, i) => i) })]), limits, repo());
    expect(one.rejected[0]!.issues).toEqual([expect.objectContaining({ path: ['tags'], keyword: 'maxItems' })]);
    expect(one.rejected[0]!.message).toBe('record 0 does not match page_view v2: /tags must NOT have more than 50 items');
  });

  it('checks a contract only once the id is valid: a record without one is still missing_id', () => {
    const a = assessRequest(request([{ type: 'page_view', url: 1 }]), limits, repo());
    expect(a.rejected.map((r) => r.reason)).toEqual(['missing_id']);
  });
});

describe('bad schema files fail loudly, naming the file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (files: Record<string, string>) => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-schemas-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };
  const fails = (files: Record<string, string>, message: RegExp) => {
    const load = () => compileContracts(readSchemaDir(write(files)), settings());
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  };

  it.each([
    ['JSON that does not parse', { 'a/1.json': '{"type": "object",' }, /a\/1\.json: not valid JSON/],
    ['a misspelled keyword', { 'a/1.json': '{"type":"object","requird":["x"]}' }, /a\/1\.json: strict mode: unknown keyword: "requird"/],
    [
      'another dialect',
      { 'a/1.json': '{"$schema":"http://json-schema.org/draft-07/schema#"}' },
      /a\/1\.json: \$schema is .*draft-07.*only draft 2020-12/,
    ],
    ['an invalid keyword value', { 'a/1.json': '{"type":"strnig"}' }, /a\/1\.json: schema is invalid/],
    ['a $ref that resolves nowhere', { 'a/1.json': '{"$ref":"#/$defs/missing"}' }, /a\/1\.json: can't resolve reference/],
    ['an unknown format', { 'a/1.json': '{"type":"string","format":"colour"}' }, /a\/1\.json: unknown format "colour"/],
    ['a schema that is not an object', { 'a/1.json': '[1]' }, /a\/1\.json: a schema must be a JSON object/],
    ['a file name that is not a version', { 'a/v1.json': '{}' }, /a\/v1\.json: expected <version>\.json/],
    ['version zero', { 'a/0.json': '{}' }, /a\/0\.json: expected <version>\.json/],
    ['a file outside a type directory', { 'loose.json': '{}' }, /loose\.json: expected a directory per event type/],
    ['a type name that is not one', { 'bad type/1.json': '{}' }, /"bad type" is not a valid type name/],
  ])('%s', (_, files, message) => fails(files, message));

  it('lists every problem at once', () => {
    const load = () =>
      compileContracts(readSchemaDir(write({ 'a/1.json': '{"type":"strnig"}', 'b/1.json': '{"requird":[]}' })), settings());
    expect(load).toThrow(/a\/1\.json[\s\S]*b\/1\.json/);
  });

  it('refuses a missing directory', () => {
    dir = mkdtempSync(join(tmpdir(), 'snowgate-schemas-'));
    expect(() => readSchemaDir(join(dir, 'nope'))).toThrow(/does not exist/);
  });
});
