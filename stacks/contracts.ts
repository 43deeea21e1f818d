import type { ContractSettings } from '@snowgate/core';
import { readSchemaDir, compileContracts, standaloneValidatorsSources } from '@snowgate/contracts';
import { VALIDATORS_FILE } from '@snowgate/functions/contracts-runtime';
import { buildSync } from 'esbuild';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The schema contracts, relative to the app's root; bundled with the ingest function under the same name. */
export const SCHEMAS_DIR = 'schemas';
/** The standalone validators' file name, beside the schemas in the function's bundle: the handler's constant. */
export { VALIDATORS_FILE };

/**
 * Compiles every schema (a bad one stops synth and deploy here, with its file
 * named, never a cold start) and, when the stage turns contracts on, writes them
 * as one self-contained module of standalone validators: Ajv's generated code
 * with its runtime helpers and format checks bundled in, so that the function
 * loads compiled code instead of loading Ajv and compiling (docs/decisions/008).
 * Returns what the Function's `copyFiles` needs, or undefined without schemas.
 */
export function prepareContracts(
  settings: ContractSettings,
  stage: string,
  root = process.cwd(),
): { schemas: string[]; copyFiles: { from: string; to: string }[] } | undefined {
  const dir = join(root, SCHEMAS_DIR);
  if (!existsSync(dir)) {
    if (settings.mode !== 'off')
      throw new Error(
        `contracts.mode is "${settings.mode}" but there is no ${SCHEMAS_DIR}/ directory: add schemas/<type>/<version>.json, or set the mode to "off"`,
      );
    return undefined;
  }
  const files = readSchemaDir(dir);
  const schemas = compileContracts(files, settings).schemas.map((s) => `${s.type}/${s.version}`);
  if (settings.mode !== 'off' && schemas.length === 0) {
    throw new Error(
      `contracts.mode is "${settings.mode}" but ${SCHEMAS_DIR}/ holds no schema: add schemas/<type>/<version>.json, or set the mode to "off"`,
    );
  }
  if (settings.mode === 'off') return { schemas, copyFiles: [{ from: SCHEMAS_DIR, to: SCHEMAS_DIR }] };
  // The schemas and their validators, staged together: SST copies one directory into the bundle.
  const staged = join(root, '.sst', 'snowgate-contracts', stage, SCHEMAS_DIR);
  rmSync(staged, { recursive: true, force: true });
  cpSync(dir, staged, { recursive: true });
  buildValidators(files, join(staged, VALIDATORS_FILE), root);
  return { schemas, copyFiles: [{ from: relative(root, staged), to: SCHEMAS_DIR }] };
}

/**
 * Writes the schemas' standalone validators, first-error and all-errors, as one
 * bundled ES module exporting `validators` and `detailed` (no import left but Node's).
 */
export function buildValidators(files: Parameters<typeof standaloneValidatorsSources>[0], outfile: string, root = process.cwd()): void {
  const sources = standaloneValidatorsSources(files);
  // Written under the app's root, so that esbuild resolves ajv's runtime helpers from its node_modules.
  const src = join(root, '.sst', 'snowgate-contracts', 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'fast.mjs'), sources.fast);
  writeFileSync(join(src, 'detailed.mjs'), sources.detailed);
  buildSync({
    stdin: {
      contents: "export { validators } from './fast.mjs';\nexport { validators as detailed } from './detailed.mjs';\n",
      resolveDir: src,
      sourcefile: 'validators.src.mjs',
      loader: 'js',
    },
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    outfile,
    logLevel: 'error',
  });
}
