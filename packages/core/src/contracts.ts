import * as z from './zod';
import { ConfigError } from './errors';

/**
 * Schema contracts: JSON Schema (draft 2020-12) files per event type and
 * version, `schemas/<type>/<version>.json`, chosen by fields of the record.
 * The same code runs in the Lambda and in the local twin.
 *
 * This module judges records with validators already compiled; it does not load
 * Ajv. Reading `schemas/` and compiling (Ajv, at synth, in tests and in the twin)
 * is `@snowgate/contracts`; the Lambda loads the validators that synth
 * generated as standalone code (`schemas/validators.mjs` in its bundle), so that a
 * cold start pays neither Ajv's load nor the compilation.
 */

/** The only dialect accepted: a schema naming another is a mistake, not a preference. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** Issues kept per record: a broken producer can otherwise fill a quarantine object with thousands. */
export const MAX_SCHEMA_ISSUES = 50;

/** A dot path into the record (`type`, `meta.schema.version`); no prototype keys. */
const fieldPath = z.string().check(
  z.regex(/^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/, 'a field name or dot path such as "type" or "meta.type"'),
  z.refine((p) => !p.split('.').some((k) => k === '__proto__' || k === 'constructor' || k === 'prototype'), 'no prototype keys'),
);

/** How a stage applies its contracts. */
export const contractSettingsSchema = z.object({
  /**
   * `off`: no schema is read. `warn`: what `enforce` would reject is accepted,
   * and reported (response `warnings`, the log, the twin's counts). `enforce`:
   * rejected as `schema_violation` or `unknown_schema`, and quarantined.
   */
  mode: z._default(z.enum(['off', 'warn', 'enforce']), 'off'),
  /** The record field naming its event type: the directory under `schemas/`. */
  typeField: z._default(fieldPath, 'type'),
  /** The record field naming its schema version (an integer, or a string of digits): the file name. */
  versionField: z._default(fieldPath, 'schema_version'),
  /** A record whose type (or version) has no schema, or that names no type: `accept` it, or `reject` it as `unknown_schema`. */
  unknown: z._default(z.enum(['accept', 'reject']), 'accept'),
  /** A record of a known type that names no version: checked against the newest version (`latest`), or handled as unknown. */
  missingVersion: z._default(z.enum(['latest', 'unknown']), 'latest'),
});
export type ContractSettings = z.infer<typeof contractSettingsSchema>;

/** One schema file, read but not yet compiled. */
export interface SchemaFile {
  type: string;
  version: number;
  /** Where it came from, for messages. */
  source: string;
  schema: unknown;
}

/** Which schema a record was checked against (or would have been). */
export interface SchemaRef {
  type: string;
  version: number;
}

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
  /** The JSON Schema keyword that failed, and where in the schema. */
  keyword: string;
  schemaPath: string;
}

export type ContractVerdict =
  | { ok: true; schema?: SchemaRef }
  | { ok: false; reason: 'schema_violation' | 'unknown_schema'; message: string; issues: SchemaIssue[]; schema?: SchemaRef };

/** A compiled set of contracts: judges a parsed record. */
export interface Contracts {
  readonly settings: ContractSettings;
  /** The types and versions it knows, for logs and tests. */
  readonly schemas: readonly SchemaRef[];
  /**
   * What the contracts say of one record (already known to be an object with an id).
   * A verdict that is not ok is a rejection in `enforce` and a warning in `warn`.
   * With `detail`, a violation lists every error (up to `MAX_SCHEMA_ISSUES`); without, the first.
   */
  check(record: object, detail?: boolean): ContractVerdict;
}

/**
 * The shape of an Ajv validation error that this module reads. Declared here
 * (Ajv's `ErrorObject` satisfies it) so that the runtime never depends on Ajv.
 */
export interface ValidationError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

/** A compiled validator, as Ajv and its standalone code produce it: a predicate that leaves its errors on itself. */
export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: ValidationError[] | null | undefined;
}

/** Validators by `<type>/<version>`: what Ajv compiles, or what synth generated as standalone code. */
export type ValidatorMap = Readonly<Record<string, ValidateFunction>>;

/**
 * Two validators per schema: `validators` stop at the first error (the verdict:
 * a record full of errors costs what a record with one does), and `detailed`
 * collect every error, run only for the few failing records whose errors are
 * worth keeping in full (`check(record, true)`; see `SCHEMA_DETAIL_*`).
 */
export interface CompiledValidators {
  validators: ValidatorMap;
  detailed?: ValidatorMap | undefined;
}

/**
 * Failing records per request whose every error is collected (the others keep
 * their first), and the largest record text that gets it: collecting all the
 * errors of a 4 MiB array of wrong items costs seconds of CPU and hundreds of MB.
 */
export const SCHEMA_DETAIL_RECORDS = 10;
export const SCHEMA_DETAIL_MAX_CHARS = 16_384;

/**
 * Contracts over compiled validators (`schemaKey` → function), with a stage's
 * settings. Throws `ConfigError` for a key that is not `<type>/<version>`.
 *
 * @example
 * const contracts = contractsFromValidators(validators, settings);
 * contracts.check({ id: 1, type: 'page_view', schema_version: 1, url: 42 }).ok // → false
 */
export function contractsFromValidators({ validators, detailed }: CompiledValidators, settings: ContractSettings): Contracts {
  const byType = new Map<string, Map<number, ValidateFunction>>();
  for (const [key, validate] of Object.entries(validators)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,127})\/([1-9][0-9]{0,8})$/.exec(key);
    if (!m || typeof validate !== 'function') throw new ConfigError(`compiled contracts: "${key}" is not a <type>/<version> validator`);
    let versions = byType.get(m[1]!);
    if (!versions) {
      versions = new Map();
      byType.set(m[1]!, versions);
    }
    versions.set(Number(m[2]), validate);
    if (detailed && typeof detailed[key] !== 'function') throw new ConfigError(`compiled contracts: no detailed validator for "${key}"`);
  }
  const latest = new Map([...byType].map(([type, versions]) => [type, Math.max(...versions.keys())]));
  const typePath = settings.typeField.split('.');
  const versionPath = settings.versionField.split('.');
  const schemas = [...byType].flatMap(([type, versions]) =>
    [...versions.keys()].sort((a, b) => a - b).map((version) => ({ type, version })),
  );

  const unknown = (message: string, schema?: SchemaRef): ContractVerdict =>
    settings.unknown === 'accept'
      ? { ok: true }
      : { ok: false, reason: 'unknown_schema', message, issues: [], ...(schema ? { schema } : {}) };

  return {
    settings,
    schemas,
    check(record, detail = false) {
      const type = readField(record, typePath);
      if (typeof type !== 'string' || type === '') {
        return unknown(
          type === undefined || type === null
            ? `has no ${settings.typeField}, so no schema applies`
            : `has a ${settings.typeField} that is not a non-empty string`,
        );
      }
      const versions = byType.get(type);
      if (!versions) return unknown(`has ${settings.typeField} ${JSON.stringify(type.slice(0, 128))}, for which there is no schema`);
      const rawVersion = readField(record, versionPath);
      let version: number;
      if (rawVersion === undefined || rawVersion === null) {
        if (settings.missingVersion === 'unknown') return unknown(`names no ${settings.versionField} for type ${type}`);
        version = latest.get(type)!;
      } else {
        version =
          typeof rawVersion === 'number'
            ? rawVersion
            : typeof rawVersion === 'string' && /^[0-9]{1,9}$/.test(rawVersion)
              ? Number(rawVersion)
              : NaN;
        if (!Number.isSafeInteger(version) || version < 1)
          return unknown(`has a ${settings.versionField} that is not a version (a positive integer)`);
      }
      const schema = { type, version };
      const validate = versions.get(version);
      if (!validate) return unknown(`has ${settings.typeField} ${type} version ${version}, for which there is no schema`, schema);
      if (validate(record)) return { ok: true, schema };
      let errors = validate.errors ?? [];
      const all = detail ? detailed?.[`${type}/${version}`] : undefined;
      if (all && !all(record)) errors = all.errors ?? errors;
      const issues = errors.slice(0, MAX_SCHEMA_ISSUES).map(toIssue);
      const shown = issues.slice(0, 3).map((i) => `${i.path.length ? `/${i.path.join('/')}` : '(record)'} ${i.message}`);
      const more = errors.length - shown.length;
      return {
        ok: false,
        reason: 'schema_violation',
        message: `does not match ${type} v${version}: ${shown.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`,
        issues,
        schema,
      };
    },
  };
}

/** Own properties only, so that `constructor` or `__proto__` of a record never reach the prototype. */
function readField(record: object, path: readonly string[]): unknown {
  let node: unknown = record;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function toIssue(error: ValidationError): SchemaIssue {
  const path: (string | number)[] =
    error.instancePath === ''
      ? []
      : error.instancePath
          .slice(1)
          .split('/')
          .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
          .map((p) => (/^(0|[1-9][0-9]*)$/.test(p) ? Number(p) : p));
  let message = error.message ?? error.keyword;
  // Ajv names the offending property in params rather than in the path for these keywords: the path should end at it.
  const params = error.params as { missingProperty?: string; additionalProperty?: string; unevaluatedProperty?: string };
  if (error.keyword === 'required' && params.missingProperty !== undefined) {
    path.push(params.missingProperty);
    message = 'is required';
  } else if (error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
    const property = params.additionalProperty ?? params.unevaluatedProperty;
    if (property !== undefined) {
      path.push(property);
      message = 'is not allowed by the schema';
    }
  }
  return { path, message, keyword: error.keyword, schemaPath: error.schemaPath };
}
