import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaNodejs, sstBuildOptions, sstEsbuild } from '../../stacks/bundling';

/**
 * The functions' bundles, built as deploy builds them (the stack's `nodejs`
 * props, SST's esbuild options and SST's esbuild; tests/stacks/stacks.test.ts
 * checks that synth's assets are these files): what they hold, and their size.
 */

/** The ingest bundle's budget: every file of it, minified (not gzipped). */
const MAX_INGEST_BYTES = 500_000;
/** The authorizer's: about 300 KB today; classic zod or the SDK's whole credential chain back would exceed it. */
const MAX_AUTHORIZER_BYTES = 350_000;

/**
 * Modules that have no business in a function, by path, so that the rule
 * holds wherever they live: the cost model, the stage config and the
 * configuration that reads files, schema compilation (@snowgate/contracts,
 * Ajv and its code generation), and classic zod (the runtime's schemas use
 * `zod/mini`).
 */
const FORBIDDEN: Array<[what: string, path: RegExp]> = [
  ['the cost model', /packages\/cost\//],
  ['the stage config', /packages\/config\/src\/stage-config\.ts$/],
  ['configuration that reads files', /packages\/config\/src\/(files|snowflake)\.ts$/],
  ['schema compilation', /packages\/contracts\//],
  ['Ajv', /node_modules\/(.*\/)?(ajv|ajv-formats)\//],
  ['classic zod', /node_modules\/(.*\/)?zod\/v4\/classic\//],
];
/** The SDK's default credential chain (SSO, ini files, web identity, instance metadata, STS): Lambda gives credentials in the environment. */
const CREDENTIAL_CHAIN = /@aws-sdk\/(credential-provider-(node|ini|sso|web-identity|process|http|login)|nested-clients|token-providers)\//;
const S3_SDK = /node_modules\/(.*\/)?@aws-sdk\/client-s3\//;

interface Built {
  outdir: string;
  entry: string;
  outputs: Metafile['outputs'];
}

async function build(handler: string): Promise<Built> {
  const outdir = mkdtempSync(join(tmpdir(), 'snowgate-bundle-'));
  const { metafile } = await sstEsbuild().build({ ...sstBuildOptions(resolve(handler), outdir, lambdaNodejs()), write: true });
  const outputs = metafile!.outputs;
  const entry = Object.keys(outputs).find((file) => outputs[file]!.entryPoint && resolve(outputs[file]!.entryPoint!) === resolve(handler))!;
  return { outdir, entry, outputs };
}

/** The bundle's code: its .mjs files (the sourcemaps beside them are not loaded). */
const code = (b: Built) => Object.keys(b.outputs).filter((file) => file.endsWith('.mjs'));
const bytes = (b: Built) => code(b).reduce((sum, file) => sum + b.outputs[file]!.bytes, 0);
const inputsOf = (b: Built, files: string[]) =>
  files.flatMap((file) => Object.keys(b.outputs[file]!.inputs).filter((input) => b.outputs[file]!.inputs[input]!.bytesInOutput > 0));
/** The files a cold start loads: the entry, and what it imports statically, transitively. */
function loadedAtStart(b: Built): string[] {
  const seen = new Set([b.entry]);
  for (const file of seen)
    for (const i of b.outputs[file]!.imports) if (i.kind === 'import-statement' && b.outputs[i.path]) seen.add(i.path);
  return [...seen];
}
const forbidden = (b: Built) =>
  FORBIDDEN.flatMap(([what, path]) =>
    inputsOf(b, code(b))
      .filter((input) => path.test(input))
      .map((input) => `${what}: ${input}`),
  );

/** Imports a bundle in a fresh process, as a Lambda sandbox does, with only `env`; what it printed, or the error its init threw. */
function loadInFreshProcess(file: string, env: Record<string, string>): string {
  const script = `try { const m = await import(${JSON.stringify(resolve(file))}); console.log(typeof m.handler); } catch (e) { console.log(e.message); }`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', NODE_NO_WARNINGS: '1', ...env },
    encoding: 'utf8',
  }).trim();
}

let ingest: Built;
let authorizer: Built;
beforeAll(async () => {
  ingest = await build('packages/functions/src/ingest.ts');
  authorizer = await build('packages/functions/src/authorizer.ts');
}, 120_000);
afterAll(() => {
  for (const b of [ingest, authorizer]) if (b) rmSync(b.outdir, { recursive: true, force: true });
});

describe("the ingest function's bundle", () => {
  it(`is at most ${MAX_INGEST_BYTES / 1000} KB, all its files together`, () => {
    expect(bytes(ingest)).toBeLessThanOrEqual(MAX_INGEST_BYTES);
  });

  it('holds no cost model, stage config, configuration file loading, schema compilation, Ajv or classic zod', () => {
    expect(forbidden(ingest)).toEqual([]);
    // Nor lists a directory or reads a stage's config file, wherever the code came from: settings come from the
    // environment, the schemas' validators are compiled at synth.
    for (const file of code(ingest)) {
      const text = readFileSync(resolve(file), 'utf8');
      expect(text, file).not.toContain('readdirSync');
      expect(text, file).not.toContain('.snowflake.json');
    }
  });

  it('loads the S3 SDK only when something is quarantined', () => {
    expect(inputsOf(ingest, loadedAtStart(ingest)).filter((input) => S3_SDK.test(input))).toEqual([]);
    expect(inputsOf(ingest, code(ingest)).some((input) => S3_SDK.test(input))).toBe(true);
  });

  it("carries environment credentials, not the SDK's whole default chain", () => {
    const inputs = inputsOf(ingest, code(ingest));
    expect(inputs.filter((input) => CREDENTIAL_CHAIN.test(input))).toEqual([]);
    expect(inputs.some((input) => input.endsWith('packages/functions/src/lambda-credentials.ts'))).toBe(true);
  });

  it('loads, with its settings from the environment, and refuses a bad one with zod’s English message', () => {
    const env = { SNOWGATE_STREAM_NAME: 'events', SNOWGATE_ERROR_BUCKET: 'errors' };
    expect(loadInFreshProcess(join(ingest.outdir, 'ingest.mjs'), env)).toBe('function');
    // zod/mini has no locale of its own: without packages/core/src/zod.ts this would read "Invalid input".
    expect(loadInFreshProcess(join(ingest.outdir, 'ingest.mjs'), { ...env, SNOWGATE_MAX_DEPTH: '0' })).toContain(
      'limits.maxDepth: Too small: expected number to be >0',
    );
  });
});

describe("the API-key authorizer's bundle", () => {
  it(`is at most ${MAX_AUTHORIZER_BYTES / 1000} KB, with no classic zod, credential chain or build tooling`, () => {
    expect(bytes(authorizer)).toBeLessThanOrEqual(MAX_AUTHORIZER_BYTES);
    expect(forbidden(authorizer)).toEqual([]);
    expect(inputsOf(authorizer, code(authorizer)).filter((input) => CREDENTIAL_CHAIN.test(input))).toEqual([]);
  });

  it('loads, with its settings from the environment', () => {
    const env = { SNOWGATE_API_KEYS_PREFIX: '/snowgate/dev/api-keys/', SNOWGATE_API_KEY_HEADER: 'x-api-key' };
    expect(loadInFreshProcess(join(authorizer.outdir, 'authorizer.mjs'), env)).toBe('function');
    expect(loadInFreshProcess(join(authorizer.outdir, 'authorizer.mjs'), { ...env, SNOWGATE_API_KEY_HEADER: 'X' })).toContain(
      'SNOWGATE_API_KEY_HEADER: Invalid string: must match pattern',
    );
  });
});
