import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import {
  ConfigError,
  contractsFromValidators,
  JSON_SCHEMA_DIALECT,
  type ContractSettings,
  type Contracts,
  type SchemaFile,
  type SchemaRef,
  type ValidatorMap,
} from '@snowgate/core';
import { readSchemaDir } from './schema-dir';

/**
 * Compiling schema contracts with Ajv: in tests, at synth (which also writes them
 * as standalone code for the Lambda) and in the twin. Kept apart from
 * the contracts' runtime (`@snowgate/core`) so that the Lambda's bundle never loads Ajv.
 */

// CommonJS modules: their default export arrives wrapped under Node's ESM loader and plain under esbuild.
const unwrap = <T>(m: T): T => ((m as { default?: T }).default ?? m) as T;
const addFormats = unwrap(addFormatsModule);
const standaloneCode = unwrap(standaloneCodeModule);

/** The key a validator has, in Ajv and in the standalone module: `<type>/<version>`. */
export function schemaKey(file: SchemaRef): string {
  return `${file.type}/${file.version}`;
}

function newAjv(standalone: boolean, allErrors: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    // The verdict stops at the first error; the detailed validators collect them all (`CompiledValidators` in `@snowgate/core`).
    allErrors,
    strictSchema: true,
    strictNumbers: true,
    // Lints on the schema author's style, not errors in the schema: left to the author.
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    // Ajv's own `$id`s must not clash between files: each schema is registered under a key of ours.
    addUsedSchema: false,
    logger: false,
    ...(standalone ? { code: { source: true, esm: true } } : {}),
  });
  addFormats(ajv);
  return ajv;
}

/**
 * Compiles every schema with Ajv. Strict about schemas: an unknown keyword (a typo
 * such as `requird`), another dialect, an unknown format or a `$ref` that resolves
 * nowhere fails here, with the file named; every problem is listed at once.
 */
function compileAll(
  files: readonly SchemaFile[],
  standalone: boolean,
  allErrors: boolean,
): { ajv: Ajv2020; validators: Record<string, ValidateFunction> } {
  const ajv = newAjv(standalone, allErrors);
  const problems: string[] = [];
  const failed = new Set<string>();
  for (const file of files) {
    const problem = (message: string) => {
      problems.push(`${file.source}: ${message}`);
      failed.add(file.source);
    };
    if (typeof file.schema !== 'object' || file.schema === null || Array.isArray(file.schema)) {
      problem('a schema must be a JSON object');
      continue;
    }
    const dialect = (file.schema as { $schema?: unknown }).$schema;
    if (dialect !== undefined && dialect !== JSON_SCHEMA_DIALECT) {
      problem(`$schema is ${JSON.stringify(dialect)}; only draft 2020-12 (${JSON_SCHEMA_DIALECT}) is supported`);
      continue;
    }
    try {
      ajv.addSchema(file.schema as object, schemaKey(file));
    } catch (error) {
      problem((error as Error).message);
    }
  }
  const validators: Record<string, ValidateFunction> = {};
  for (const file of files) {
    if (failed.has(file.source)) continue;
    try {
      const validate = ajv.getSchema(schemaKey(file));
      if (!validate) throw new Error('did not compile');
      validators[schemaKey(file)] = validate;
    } catch (error) {
      problems.push(`${file.source}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid schemas:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { ajv, validators };
}

/**
 * Compiles every schema once (in a test, at synth, in the twin).
 *
 * @example
 * const contracts = compileContracts(readSchemaDir('schemas'), settings);
 * contracts.check({ id: 1, type: 'page_view', schema_version: 1, url: 42 }).ok // → false
 */
export function compileContracts(files: readonly SchemaFile[], settings: ContractSettings): Contracts {
  const validators = compileAll(files, false, false).validators as ValidatorMap;
  const detailed = compileAll(files, false, true).validators as ValidatorMap;
  return contractsFromValidators({ validators, detailed }, settings);
}

/**
 * Reads and compiles the schemas a stage's settings call for; `undefined`
 * when contracts are off (nothing is read, nothing costs).
 */
export function loadContracts(settings: ContractSettings, dir: string): Contracts | undefined {
  if (settings.mode === 'off') return undefined;
  return compileContracts(readSchemaDir(dir), settings);
}

/**
 * The schemas as ES modules of standalone validators (`export const validators =
 * { "<type>/<version>": fn, … }`), the code Ajv would generate at run time,
 * generated once: `fast` (first error) and `detailed` (every error). They still
 * import Ajv's small runtime helpers and ajv-formats' format checks: bundle them
 * (synth does) before shipping them alone.
 */
export function standaloneValidatorsSources(files: readonly SchemaFile[]): { fast: string; detailed: string } {
  return { fast: standaloneModule(files, false), detailed: standaloneModule(files, true) };
}

function standaloneModule(files: readonly SchemaFile[], allErrors: boolean): string {
  const { ajv, validators } = compileAll(files, true, allErrors);
  const refs = Object.fromEntries(Object.keys(validators).map((key, i) => [`v${i}`, key]));
  const code = standaloneCode(ajv, refs);
  const entries = Object.entries(refs).map(([name, key]) => `  ${JSON.stringify(key)}: ${name},`);
  return `${code}\n\n/** Generated from schemas/ by @snowgate/contracts standaloneValidatorsSources: do not edit. */\nexport const validators = {\n${entries.join('\n')}\n};\n`;
}
