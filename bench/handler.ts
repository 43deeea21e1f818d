/**
 * Handler benchmark: the in-process cost of one `POST /events`
 * invocation, with the real middy chain, validation, envelope, SigV4 signing
 * and SDK serialization, and only the SDK's HTTP transport replaced by an
 * in-memory one; then the bundled handler's size, module-load time, and its
 * cold path: the first invocations in a fresh process.
 *
 * Schema contracts: the same measurements with page_view v2 records
 * (schemas/page_view/2.json, ~20 fields) with contracts off and enforced, the
 * p99 of each compared; what compiling the repo's schemas costs (in process,
 * and in a fresh process's module load); how much of the bundle is ajv.
 *
 *   pnpm bench:handler                  # full run, ~4 minutes on a shared 2-core machine, under the Lambda's NODE_OPTIONS
 *   pnpm bench:handler --quick          # fewer iterations
 *   pnpm bench:handler --node-defaults  # V8's default heap sizing, for comparison
 *   pnpm bench:handler --cold-only      # only the bundle, module load, cold path and schema compile (~40 s)
 *   pnpm bench:handler --baseline /tmp/base   # and another checkout side by side (bundles, cold path, warm path)
 *
 * The bundles are built as deploy builds them (stacks/bundling.ts: the
 * stack's `nodejs` props, SST's esbuild options, SST's esbuild), and what the
 * ingest bundle holds is printed from esbuild's metafile: the largest inputs,
 * and which are loaded at a cold start or only on first use.
 *
 * With `--baseline DIR` (a checkout of the code before a change, installed),
 * that checkout's bundles are built and measured too: sizes, the cold path
 * (its processes alternating with this checkout's) and the warm path of both
 * bundles in one process, their invocations alternating (with `--cold-only` too).
 *
 * Results print as a table and are written to .bench/handler.json
 * (.bench/handler-cold.json with --cold-only, so that a full run's figures stay).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { contractSettingsSchema } from '@snowgate/core';
import { parseIngestSettings } from '@snowgate/config';
import { readSchemaDir, compileContracts, loadContracts } from '@snowgate/contracts';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import type { Metafile, Plugin } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { INGEST_NODE_OPTIONS } from '@snowgate/functions/runtime';
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lambdaNodejs, type NodejsProps, sstBuildOptions, sstEsbuild } from '../stacks/bundling';
import { buildValidators } from '../stacks/contracts';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { parseCommandLine, usageError } from '../cli/args';
import { readFileSync } from 'node:fs';
import { apiEvent, lambdaContext, pageViewV2 } from './support/handler-inputs';
import { machineInfo } from './support/machine';

const USAGE = `Usage: pnpm bench:handler [--quick] [--node-defaults] [--cold-only] [--baseline DIR]

The in-process cost of one POST /events invocation (the real middy chain, SDK
transport in memory), the bundle's size, module load and cold path, with schema
contracts off and enforced. Runs under the Lambda's NODE_OPTIONS. Writes
.bench/handler.json (.bench/handler-cold.json with --cold-only).

Options:
  --quick           fewer iterations
  --node-defaults   V8's default heap sizing, for comparison
  --cold-only       only the bundle, module load, cold path and schema compile (~40 s)
  --baseline DIR    also another checkout (e.g. a git worktree of main, installed):
                    its bundles, its cold path (processes alternating with this
                    one's) and its warm path (in one process with this one's)
  -h, --help        print this help

Examples:
  pnpm bench:handler --cold-only
  git worktree add /tmp/base main && (cd /tmp/base && pnpm install --frozen-lockfile)
  pnpm bench:handler --baseline /tmp/base`;

const { values: flags } = parseCommandLine('pnpm bench:handler', USAGE, {
  options: {
    quick: { type: 'boolean', default: false },
    'node-defaults': { type: 'boolean', default: false },
    'cold-only': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const quick = flags.quick;
const nodeDefaults = flags['node-defaults'];
const coldOnly = flags['cold-only'];
const baselineRoot = flags.baseline ? resolve(flags.baseline) : undefined;
if (baselineRoot && !existsSync(join(baselineRoot, 'packages/functions/src/ingest.ts')))
  usageError('pnpm bench:handler', `--baseline ${flags.baseline}: no packages/functions/src/ingest.ts there`);
if (baselineRoot && !existsSync(join(baselineRoot, 'node_modules/sst')))
  usageError('pnpm bench:handler', `--baseline ${flags.baseline}: not installed (run pnpm install --frozen-lockfile there)`);

// Measure under the NODE_OPTIONS the Lambda runs with: re-run this script with them, once.
if (!nodeDefaults && !process.env.NODE_OPTIONS?.includes(INGEST_NODE_OPTIONS)) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${INGEST_NODE_OPTIONS}`.trim() },
  });
  process.exit(child.status ?? 1);
}
const outDir = new URL('../.bench/', import.meta.url);
mkdirSync(outDir, { recursive: true });
/** The repo's schemas, by absolute path: what the Lambda bundle ships beside the code as `schemas/`. */
const schemasDir = new URL('../schemas/', import.meta.url).pathname;
type ContractsMode = 'off' | 'enforce';
/**
 * What synth ships with contracts on: the schemas and their standalone validators
 * (stacks/contracts.ts), staged under .bench/schemas for the bundle to load.
 */
const shippedSchemasDir = new URL('schemas/', outDir).pathname;
rmSync(shippedSchemasDir, { recursive: true, force: true });
cpSync(schemasDir, shippedSchemasDir, { recursive: true });
buildValidators(readSchemaDir(schemasDir), join(shippedSchemasDir, 'validators.mjs'));
/** The environment that turns contracts on in the bundle, with the validators synth would ship. */
const ENFORCE_ENV = { SNOWGATE_CONTRACTS_MODE: 'enforce', SNOWGATE_SCHEMAS_DIR: shippedSchemasDir };

/** An in-memory transport: answers PutRecords with every entry stored, PutObject with 200. */
const fakeTransport = {
  metadata: { handlerProtocol: 'http/1.1' },
  async handle(request: HttpRequest) {
    let body = '';
    let headers: Record<string, string> = {};
    if (request.headers['x-amz-target']?.endsWith('PutRecords')) {
      const count = (JSON.parse(Buffer.from(request.body as Uint8Array).toString('utf8')) as { Records: unknown[] }).Records.length;
      body = JSON.stringify({
        FailedRecordCount: 0,
        Records: Array.from({ length: count }, (_, i) => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(i) })),
      });
      headers = { 'content-type': 'application/x-amz-json-1.1' };
    } else {
      headers = { etag: '"d41d8cd98f00b204e9800998ecf8427e"' };
    }
    return { response: new HttpResponse({ statusCode: 200, headers, body: Readable.from([Buffer.from(body)]) }) };
  },
  updateHttpClientConfig() {},
  httpHandlerConfigs: () => ({}),
  destroy() {},
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(name: string, body: string, iterations: number, logLevel: 'INFO' | 'SILENT', contracts: ContractsMode = 'off') {
  return (await measureInterleaved([{ name, contracts }], body, iterations, logLevel))[0]!;
}

/**
 * One handler per variant, built as in Lambda, all fed the same body. With
 * several variants (contracts off and enforced), their invocations alternate,
 * one of each per step, the order swapped every step: a burst of noise from the
 * other core, or a GC, falls on both alike, so their p99s compare on a shared
 * machine where two runs one after the other would not.
 */
async function measureInterleaved(
  variants: Array<{ name: string; contracts: ContractsMode }>,
  body: string,
  iterations: number,
  logLevel: 'INFO' | 'SILENT',
) {
  const events = Array.from({ length: 64 }, () => apiEvent({ body }));
  // Every invocation of a Lambda gets its own deadline: 60 s left each time, however long the whole run takes
  // (one context made once would run out after 60 s and turn a slow machine's run into 503s).
  const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 60_000 };
  const handlers = variants.map(({ contracts }) => {
    const settings = parseIngestSettings({
      streamName: 'bench',
      errorBucket: 'bench-errors',
      region: 'us-east-1',
      contracts: { mode: contracts },
      schemasDir,
    });
    const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
    const kinesis = new KinesisClient({ region: 'us-east-1', credentials, requestHandler: fakeTransport as never, cacheMiddleware: true });
    const s3 = new S3Client({ region: 'us-east-1', credentials, requestHandler: fakeTransport as never, cacheMiddleware: true });
    // Logs at INFO go to a sink, as they would to CloudWatch: their cost counts, their volume does not flood the terminal.
    const logger = new Logger({ serviceName: 'bench', logLevel });
    // Contracts, when enforced, compiled here from the repo's schemas: the same validator code the Lambda loads precompiled.
    return createIngestHandler({ settings, kinesis, s3, logger, contracts: loadContracts(settings.contracts, schemasDir) });
  });
  const run = async (n: number, times?: number[][]) => {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < handlers.length; k++) {
        const v = i % 2 === 0 ? k : handlers.length - 1 - k;
        const t = process.hrtime.bigint();
        const response = await handlers[v]!(events[i % events.length]!, context);
        if (times) times[v]!.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (response.statusCode! >= 300 && !variants[v]!.name.includes('rejected'))
          throw new Error(`unexpected ${response.statusCode}: ${response.body}`);
      }
    }
  };
  await run(Math.min(2_000, iterations));
  const times: number[][] = variants.map(() => []);
  const started = performance.now();
  await run(iterations, times);
  const elapsed = performance.now() - started;
  return variants.map(({ name, contracts }, v) => {
    const sorted = times[v]!.sort((a, b) => a - b);
    // Alone: invocations per wall-clock second. Interleaved: per second of this variant's own invocations.
    const seconds = variants.length === 1 ? elapsed : sorted.reduce((sum, x) => sum + x, 0);
    return {
      scenario: name,
      logs: logLevel,
      contracts,
      iterations,
      p50_ms: +percentile(sorted, 50).toFixed(3),
      p95_ms: +percentile(sorted, 95).toFixed(3),
      p99_ms: +percentile(sorted, 99).toFixed(3),
      max_ms: +sorted[sorted.length - 1]!.toFixed(3),
      invocations_per_s: Math.round((iterations / seconds) * 1000),
    };
  });
}

/** The environment of a fresh process standing in for a Lambda sandbox: the stage's settings, and the Lambda's NODE_OPTIONS. */
function sandboxEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    SNOWGATE_STREAM_NAME: 'bench',
    SNOWGATE_ERROR_BUCKET: 'bench-errors',
    AWS_REGION: 'us-east-1',
    NODE_NO_WARNINGS: '1',
    ...(nodeDefaults ? {} : { NODE_OPTIONS: INGEST_NODE_OPTIONS }),
    ...extra,
  };
}

const repoRoot = new URL('..', import.meta.url).pathname;
const INGEST_ENTRY = 'packages/functions/src/ingest.ts';
const AUTHORIZER_ENTRY = 'packages/functions/src/authorizer.ts';
/** The checkouts measured: this one, and the baseline's with `--baseline`. */
const checkouts = [{ checkout: 'this', root: repoRoot }, ...(baselineRoot ? [{ checkout: 'baseline', root: baselineRoot }] : [])];

/**
 * The `nodejs` props a checkout's stack bundles its functions with: its
 * stacks/bundling.ts, or for a checkout from before that module, the props its
 * stack had then (minified ESM).
 */
async function nodejsOf(root: string): Promise<NodejsProps> {
  if (root === repoRoot) return lambdaNodejs(root);
  const bundling = join(root, 'stacks/bundling.ts');
  return existsSync(bundling)
    ? ((await import(bundling)) as { lambdaNodejs(root: string): NodejsProps }).lambdaNodejs(root)
    : { minify: true };
}

/** Builds a checkout's function entry as its deploy would (into `outdir`, emptied first): the entry file and the metafile. */
async function buildFunction(
  outdir: string,
  { root = repoRoot, entry = INGEST_ENTRY, external = [] as string[], plugins = [] as Plugin[] } = {},
) {
  rmSync(outdir, { recursive: true, force: true });
  const options = sstBuildOptions(join(root, entry), outdir, await nodejsOf(root));
  const { metafile } = await sstEsbuild(root).build({
    ...options,
    external: [...(options.external ?? []), ...external],
    plugins: [...(options.plugins ?? []), ...plugins],
  });
  const name = entry.replace(/^.*\//, '').replace(/\.ts$/, '');
  return { entry: join(outdir, `${name}.mjs`), metafile: metafile! };
}

/** A bundle's code: its .mjs files, by metafile key (the sourcemaps beside them are not loaded). */
const codeFiles = (metafile: Metafile) => Object.keys(metafile.outputs).filter((file) => file.endsWith('.mjs'));
const codeBytes = (metafile: Metafile) => codeFiles(metafile).reduce((sum, file) => sum + metafile.outputs[file]!.bytes, 0);

/** The files a cold start loads: the entry and what it imports statically, transitively; the rest is read on first `import()`. */
function loadedAtStart(metafile: Metafile, entry = INGEST_ENTRY): Set<string> {
  // With code splitting every import() target is an entry point of its own: start from the function's.
  const seen = new Set(codeFiles(metafile).filter((file) => metafile.outputs[file]!.entryPoint?.endsWith(entry)));
  for (const file of seen)
    for (const i of metafile.outputs[file]!.imports) if (i.kind === 'import-statement' && metafile.outputs[i.path]) seen.add(i.path);
  return seen;
}

/** What is in a bundle, by package (or by source file for the workspace's own code), largest first, from esbuild's metafile. */
function bundleContents(metafile: Metafile) {
  const atStart = loadedAtStart(metafile);
  const rows = new Map<string, { module: string; bytes: number; at_cold_start: number; on_first_use: number }>();
  for (const file of codeFiles(metafile)) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[file]!.inputs)) {
      const module = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/)?.[1] ?? input.replace(/^(\.\.\/)+/, '');
      const row = rows.get(module) ?? { module, bytes: 0, at_cold_start: 0, on_first_use: 0 };
      row.bytes += bytesInOutput;
      if (atStart.has(file)) row.at_cold_start += bytesInOutput;
      else row.on_first_use += bytesInOutput;
      rows.set(module, row);
    }
  }
  const files = codeFiles(metafile).map((file) => ({
    file: file.replace(/^.*\//, ''),
    bytes: metafile.outputs[file]!.bytes,
    loaded: atStart.has(file) ? 'at cold start' : 'on first import()',
  }));
  return { rows: [...rows.values()].sort((a, b) => b.bytes - a.bytes), files };
}

async function bundle() {
  const results = [];
  let contents: ReturnType<typeof bundleContents> | undefined;
  const variants = [
    ...checkouts.map(({ checkout, root }) => ({ checkout, root, variant: 'as deployed', external: [] as string[] })),
    { checkout: 'this', root: repoRoot, variant: 'SDK external (runtime-provided)', external: ['@aws-sdk/*', '@smithy/*'] },
  ];
  for (const { checkout, root, variant, external } of variants) {
    const { entry, metafile } = await buildFunction(
      new URL(`ingest-${checkout}-${external.length ? 'external' : 'deployed'}/`, outDir).pathname,
      {
        root,
        external,
      },
    );
    const files = codeFiles(metafile);
    const bytes = codeBytes(metafile);
    const gzip = files.reduce((sum, file) => sum + gzipSync(readFileSync(resolve(file))).length, 0);
    const atStart = [...loadedAtStart(metafile)].reduce((sum, file) => sum + metafile.outputs[file]!.bytes, 0);
    if (checkout === 'this' && !external.length) contents = bundleContents(metafile);
    // The bundle's bytes that come from ajv, ajv-formats and their dependencies (minified, before gzip).
    const ajvBytes = files
      .flatMap((file) => Object.entries(metafile.outputs[file]!.inputs))
      .filter(([input]) => AJV_PACKAGES.test(input))
      .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
    // Module load = a cold start's init phase: parse, evaluate, validate settings, build clients
    // (and, with contracts enforced, import the standalone validators).
    const runs = external.length ? 0 : quick ? 5 : 15;
    for (const contracts of external.length ? (['off'] as const) : (['off', 'enforce'] as const)) {
      const loads: number[] = [];
      for (let i = 0; i < runs; i++) {
        const out = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t = performance.now(); await import(${JSON.stringify(entry)}); console.log(performance.now() - t);`,
          ],
          {
            env: sandboxEnv(contracts === 'enforce' ? ENFORCE_ENV : {}),
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        loads.push(Number(String(out).trim()));
      }
      loads.sort((a, b) => a - b);
      results.push({
        ...(baselineRoot ? { checkout } : {}),
        variant,
        contracts,
        files: files.length,
        bytes,
        bytes_at_cold_start: atStart,
        gzip_bytes: gzip,
        ajv_bytes: ajvBytes,
        module_load_median_ms: runs ? +percentile(loads, 50).toFixed(1) : null,
        module_load_max_ms: runs ? +loads[loads.length - 1]!.toFixed(1) : null,
      });
    }
  }
  // The API-key authorizer's bundle: its size only (it runs in stages with auth mode apiKey).
  const authorizer = [];
  for (const { checkout, root } of checkouts) {
    const { metafile } = await buildFunction(new URL(`authorizer-${checkout}/`, outDir).pathname, { root, entry: AUTHORIZER_ENTRY });
    authorizer.push({
      ...(baselineRoot ? { checkout } : {}),
      function: 'API-key authorizer',
      files: codeFiles(metafile).length,
      bytes: codeBytes(metafile),
      bytes_at_cold_start: [...loadedAtStart(metafile, AUTHORIZER_ENTRY)].reduce((sum, file) => sum + metafile.outputs[file]!.bytes, 0),
    });
  }
  return { results, contents: contents!, authorizer };
}

/** ajv and what it brings into the bundle (pnpm paths: node_modules/.pnpm/<pkg>@<v>/node_modules/<pkg>/...). */
const AJV_PACKAGES = /node_modules\/(ajv|ajv-formats|fast-uri|fast-deep-equal|json-schema-traverse|require-from-string)\//;

/**
 * What `loadContracts` (read `schemas/`, a new Ajv instance, compile every
 * schema) costs in this process: the first call (ajv's own code not yet
 * optimized by V8, as at a cold start), then the median of fresh ones, each
 * with a new Ajv instance, so nothing is reused between them but V8's work on
 * ajv itself. Compile only (files already read) is given apart.
 */
function contractsCompile(samples: number) {
  const settings = contractSettingsSchema.parse({ mode: 'enforce' });
  const time = (f: () => unknown) => {
    const t = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const first = time(() => loadContracts(settings, schemasDir));
  const loads = Array.from({ length: samples }, () => time(() => loadContracts(settings, schemasDir))).sort((a, b) => a - b);
  const files = readSchemaDir(schemasDir);
  const compiles = Array.from({ length: samples }, () => time(() => compileContracts(files, settings))).sort((a, b) => a - b);
  // What the Lambda does instead: import the standalone validators, in a fresh process each time (nothing cached).
  const validators = join(shippedSchemasDir, 'validators.mjs');
  const imports = Array.from({ length: Math.min(samples, quick ? 5 : 15) }, () =>
    Number(
      String(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t = performance.now(); await import(${JSON.stringify(validators)}); console.log(performance.now() - t);`,
          ],
          {
            env: sandboxEnv(),
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        ),
      ).trim(),
    ),
  ).sort((a, b) => a - b);
  return {
    schemas: files.map((f) => `${f.type}/${f.version}`).join(', '),
    samples,
    first_load_ms: +first.toFixed(2),
    load_median_ms: +percentile(loads, 50).toFixed(2),
    load_max_ms: +loads[loads.length - 1]!.toFixed(2),
    compile_only_median_ms: +percentile(compiles, 50).toFixed(2),
    standalone_bytes: statSync(validators).size,
    standalone_import_median_ms: +percentile(imports, 50).toFixed(2),
    standalone_import_max_ms: +imports[imports.length - 1]!.toFixed(2),
  };
}

/**
 * The shipped entry point with one change: the SDK clients (client-options.ts;
 * clients.ts in older checkouts) get an in-memory
 * `NodeHttpHandler` (the same answers as `fakeTransport` above) instead of
 * the real one. Everything else (settings, clients, middy, Powertools, the
 * SDK's middleware, signing, serialization) is the code that ships.
 */
const FAKE_HANDLER_MODULE = `
import { HttpResponse } from '@smithy/protocol-http';
import { Readable } from 'node:stream';
export class NodeHttpHandler {
  metadata = { handlerProtocol: 'http/1.1' };
  async handle(request) {
    let body = '';
    let headers = { etag: '"d41d8cd98f00b204e9800998ecf8427e"' };
    if (request.headers['x-amz-target']?.endsWith('PutRecords')) {
      const count = JSON.parse(Buffer.from(request.body).toString('utf8')).Records.length;
      body = JSON.stringify({ FailedRecordCount: 0, Records: Array.from({ length: count }, (_, i) => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(i) })) });
      headers = { 'content-type': 'application/x-amz-json-1.1' };
    }
    return { response: new HttpResponse({ statusCode: 200, headers, body: Readable.from([Buffer.from(body)]) }) };
  }
  updateHttpClientConfig() {}
  httpHandlerConfigs() { return {}; }
  destroy() {}
}`;

const fakeTransportPlugin: Plugin = {
  name: 'bench-fake-transport',
  setup(b) {
    b.onResolve({ filter: /^@smithy\/node-http-handler$/ }, (args) =>
      /\/packages\/functions\/src\/[\w-]+\.ts$/.test(args.importer) ? { path: 'node-http-handler', namespace: 'bench-fake' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'bench-fake' }, () => ({
      contents: FAKE_HANDLER_MODULE,
      loader: 'js',
      resolveDir: new URL('..', import.meta.url).pathname,
    }));
  },
};

/**
 * The cold path, as a Lambda sandbox sees it: in a fresh process, import the
 * bundle (init), then time the first invocation and the second. The first
 * pays for everything done lazily on first use: credential resolution, the
 * SDK's endpoint and middleware setup, Powertools' context, code that V8 has
 * not compiled yet, and on the quarantine path the S3 client. No network: the
 * TLS handshake to Kinesis comes on top in AWS.
 *
 * With `--baseline DIR`, that checkout's bundle is measured too, its processes
 * alternating with this one's (the order swapped every round), so that the
 * load of a shared machine falls on both alike.
 */
async function coldPath(scenarios: Array<{ scenario: string; body: string; contracts?: ContractsMode }>) {
  const bundles = [];
  for (const { checkout, root } of checkouts) {
    const { entry } = await buildFunction(new URL(`ingest-cold-${checkout}/`, outDir).pathname, { root, plugins: [fakeTransportPlugin] });
    bundles.push({ checkout, entry });
  }
  const runs = quick ? 5 : 15;
  const results = [];
  for (const { scenario, body, contracts = 'off' } of scenarios) {
    const eventsFile = new URL('cold-events.json', outDir).pathname;
    writeFileSync(eventsFile, JSON.stringify([apiEvent({ body }), apiEvent({ body })]));
    const child = (entry: string) => `
      import { readFileSync } from 'node:fs';
      const events = JSON.parse(readFileSync(${JSON.stringify(eventsFile)}, 'utf8'));
      const context = {
        callbackWaitsForEmptyEventLoop: false, functionName: 'snowgate-ingest', functionVersion: '$LATEST',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:snowgate-ingest', memoryLimitInMB: '1024',
        awsRequestId: 'cold-1', logGroupName: '/aws/lambda/snowgate-ingest', logStreamName: 'cold',
        getRemainingTimeInMillis: () => 10_000, done() {}, fail() {}, succeed() {},
      };
      const t0 = performance.now();
      const { handler } = await import(${JSON.stringify(entry)});
      const t1 = performance.now();
      const first = await handler(events[0], context);
      const t2 = performance.now();
      const second = await handler(events[1], { ...context, awsRequestId: 'cold-2' });
      const t3 = performance.now();
      process.stdout.write('\\nCOLD ' + JSON.stringify({ load: t1 - t0, first: t2 - t1, second: t3 - t2, status: [first.statusCode, second.statusCode] }) + '\\n');`;
    const samples: Array<Array<{ load: number; first: number; second: number }>> = bundles.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < bundles.length; k++) {
        const b = i % 2 === 0 ? k : bundles.length - 1 - k;
        // Lambda hands the function its role's credentials in the environment; the SDK finds them there.
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(bundles[b]!.entry)], {
          env: sandboxEnv({
            AWS_ACCESS_KEY_ID: 'bench',
            AWS_SECRET_ACCESS_KEY: 'bench',
            AWS_SESSION_TOKEN: 'bench',
            POWERTOOLS_SERVICE_NAME: 'snowgate-ingest',
            ...(contracts === 'enforce' ? ENFORCE_ENV : {}),
          }),
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        const line = String(out)
          .split('\n')
          .find((l) => l.startsWith('COLD '));
        if (!line) throw new Error(`cold-path child printed no result: ${String(out).slice(0, 500)}`);
        const sample = JSON.parse(line.slice(5)) as { load: number; first: number; second: number; status: number[] };
        if (sample.status.some((status) => status < 200 || status >= 300))
          throw new Error(`cold-path child (${bundles[b]!.checkout}) answered ${sample.status.join(', ')}`);
        samples[b]!.push(sample);
      }
    }
    for (const [b, { checkout }] of bundles.entries()) {
      const stat = (key: 'load' | 'first' | 'second' | 'total') => {
        const values = samples[b]!.map((x) => (key === 'total' ? x.load + x.first : x[key])).sort((x, y) => x - y);
        return { median: +percentile(values, 50).toFixed(1), max: +values[values.length - 1]!.toFixed(1) };
      };
      const [load, first, second, total] = [stat('load'), stat('first'), stat('second'), stat('total')];
      results.push({
        ...(baselineRoot ? { checkout } : {}),
        scenario,
        contracts,
        processes: runs,
        module_load_median_ms: load.median,
        module_load_max_ms: load.max,
        first_invocation_median_ms: first.median,
        first_invocation_max_ms: first.max,
        second_invocation_median_ms: second.median,
        load_plus_first_median_ms: total.median,
        load_plus_first_max_ms: total.max,
      });
    }
  }
  return results;
}

/**
 * The warm path of this checkout's bundle and the baseline's, side by side:
 * both imported into one process (each with its own copy of everything, the
 * SDK's transport in memory), fed the same body, their invocations alternating
 * and the order swapped every step, after a warm-up; logs at INFO into a sink.
 */
async function warmSideBySide(scenario: string, body: string, iterations: number) {
  const entries = [];
  for (const { checkout, root } of checkouts) {
    entries.push(
      (await buildFunction(new URL(`ingest-warm-${checkout}/`, outDir).pathname, { root, plugins: [fakeTransportPlugin] })).entry,
    );
  }
  const eventsFile = new URL('warm-events.json', outDir).pathname;
  writeFileSync(eventsFile, JSON.stringify(Array.from({ length: 64 }, () => apiEvent({ body }))));
  const resultFile = new URL('warm-result.json', outDir).pathname;
  const child = `
    import { readFileSync, writeFileSync } from 'node:fs';
    // Powertools writes logs and metrics to stdout: a sink, as CloudWatch is (their cost counts, not their volume).
    process.stdout.write = () => true;
    const events = JSON.parse(readFileSync(${JSON.stringify(eventsFile)}, 'utf8'));
    const context = {
      callbackWaitsForEmptyEventLoop: false, functionName: 'snowgate-ingest', functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:snowgate-ingest', memoryLimitInMB: '1024',
      awsRequestId: 'warm', logGroupName: '/aws/lambda/snowgate-ingest', logStreamName: 'warm',
      getRemainingTimeInMillis: () => 60_000, done() {}, fail() {}, succeed() {},
    };
    const handlers = [];
    for (const entry of ${JSON.stringify(entries)}) handlers.push((await import(entry)).handler);
    const times = handlers.map(() => []);
    const run = async (n, keep) => {
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < handlers.length; k++) {
          const v = i % 2 === 0 ? k : handlers.length - 1 - k;
          const t = process.hrtime.bigint();
          const response = await handlers[v](events[i % events.length], context);
          if (keep) times[v].push(Number(process.hrtime.bigint() - t) / 1e6);
          if (response.statusCode !== 202) throw new Error('unexpected ' + response.statusCode + ': ' + response.body);
        }
      }
    };
    await run(2000, false);
    await run(${iterations}, true);
    writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify(times));`;
  execFileSync(process.execPath, ['--input-type=module', '-e', child], {
    env: sandboxEnv({
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SESSION_TOKEN: 'bench',
      POWERTOOLS_SERVICE_NAME: 'snowgate-ingest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const times = JSON.parse(readFileSync(resultFile, 'utf8')) as number[][];
  return checkouts.map(({ checkout }, v) => {
    const sorted = times[v]!.sort((a, b) => a - b);
    return {
      checkout,
      scenario,
      logs: 'INFO',
      iterations,
      p50_ms: +percentile(sorted, 50).toFixed(3),
      p95_ms: +percentile(sorted, 95).toFixed(3),
      p99_ms: +percentile(sorted, 99).toFixed(3),
      max_ms: +sorted[sorted.length - 1]!.toFixed(3),
    };
  });
}

const one = JSON.stringify({
  id: 'evt-1',
  type: 'page_view',
  user: { id: 42, plan: 'pro' },
  path: '/pricing',
  ts: '2026-11-22T04:05:06.789Z',
});
const hundred = JSON.stringify(
  Array.from({ length: 100 }, (_, i) => ({
    id: `evt-${i}`,
    type: 'page_view',
    user: { id: i, plan: 'pro' },
    path: '/pricing',
    ts: '2026-11-22T04:05:06.789Z',
  })),
);
const mixed = JSON.stringify(
  Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? { type: 'no id' } : { id: `evt-${i}`, type: 'page_view' })),
);
// Schema contracts: records meeting schemas/page_view/2.json, ~20 fields each.
const oneV2 = JSON.stringify(pageViewV2('evt-1'));
const hundredV2 = JSON.stringify(Array.from({ length: 100 }, (_, i) => pageViewV2(`evt-${i}`)));
const n = quick ? 3_000 : 20_000;

// Before anything else here compiles a schema, so that the first compilation is this process's first.
const compileResults = contractsCompile(quick ? 5 : 20);

// Powertools writes logs to stdout; send them to /dev/null for the run and print the results on stderr.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (() => true) as typeof process.stdout.write;
const handlerResults: Awaited<ReturnType<typeof measure>>[] = [];
for (const logs of coldOnly ? [] : (['SILENT', 'INFO'] as const)) {
  handlerResults.push(await measure('1 record', one, n, logs));
  handlerResults.push(await measure('100 records', hundred, Math.round(n / 4), logs));
  handlerResults.push(await measure('100 records, 10 rejected (quarantine path)', mixed, Math.round(n / 4), logs));
  // The same page_view v2 bodies without and with contracts, interleaved, for a like-for-like p99.
  for (const [count, body, iterations] of [
    ['1 page_view v2 record', oneV2, n],
    ['100 page_view v2 records', hundredV2, Math.round(n / 4)],
  ] as const) {
    handlerResults.push(
      ...(await measureInterleaved(
        [
          { name: `${count}, contracts off`, contracts: 'off' },
          { name: `${count}, contracts enforce`, contracts: 'enforce' },
        ],
        body,
        iterations,
        logs,
      )),
    );
  }
}
process.stdout.write = write;
const { results: bundleResults, contents: bundleInputs, authorizer: authorizerResults } = await bundle();
const coldResults = await coldPath([
  { scenario: '1 record', body: one },
  { scenario: '100 records', body: hundred },
  // The first request that quarantines also loads the S3 SDK and builds its client.
  { scenario: '100 records, 10 rejected (quarantine path)', body: mixed },
  { scenario: '1 page_view v2 record', body: oneV2, contracts: 'off' },
  { scenario: '1 page_view v2 record', body: oneV2, contracts: 'enforce' },
  { scenario: '100 page_view v2 records', body: hundredV2, contracts: 'off' },
  { scenario: '100 page_view v2 records', body: hundredV2, contracts: 'enforce' },
]);

// Warm, side by side with the baseline: both bundles in one process.
const warmResults = baselineRoot ? await warmSideBySide('100 records', hundred, quick ? 1_000 : 5_000) : [];

const machine = machineInfo();
writeFileSync(
  new URL(coldOnly ? 'handler-cold.json' : 'handler.json', outDir),
  JSON.stringify(
    {
      machine,
      handler: handlerResults,
      bundle: bundleResults,
      bundle_files: bundleInputs.files,
      bundle_inputs: bundleInputs.rows,
      authorizer: authorizerResults,
      cold: coldResults,
      warm_side_by_side: warmResults,
      contracts_compile: compileResults,
    },
    null,
    2,
  ),
);
console.log(
  `machine: ${machine.cpus} × ${machine.model}, ${machine.memory_gib} GiB, Node ${machine.node}, NODE_OPTIONS='${machine.node_options}'`,
);
if (!coldOnly) console.table(handlerResults);
console.table(bundleResults);
console.log('The ingest bundle as deployed, by file:');
console.table(bundleInputs.files);
const TOP_INPUTS = 20;
console.log(
  `What is in it, the ${TOP_INPUTS} largest inputs (bytes in the minified output; by package, or by source file for the workspace's own code):`,
);
console.table(bundleInputs.rows.slice(0, TOP_INPUTS));
console.table(authorizerResults);
console.table(coldResults);
if (warmResults.length) console.table(warmResults);
if (baselineRoot) {
  const ratio = (mine: number, base: number) => `${(mine / base).toFixed(2)}×`;
  const [ingestMine, ingestBase] = ['this', 'baseline'].map(
    (c) => bundleResults.find((r) => (r as { checkout?: string }).checkout === c && r.variant === 'as deployed')!,
  );
  const [authMine, authBase] = ['this', 'baseline'].map((c) => authorizerResults.find((r) => (r as { checkout?: string }).checkout === c)!);
  console.log(
    `ingest bundle: ${ingestMine!.bytes} bytes vs baseline ${ingestBase!.bytes} (${ratio(ingestMine!.bytes, ingestBase!.bytes)})`,
  );
  console.log(`authorizer bundle: ${authMine!.bytes} bytes vs baseline ${authBase!.bytes} (${ratio(authMine!.bytes, authBase!.bytes)})`);
  for (const key of new Set(coldResults.map((r) => `${r.scenario}|${r.contracts}`))) {
    const [mine, base] = ['this', 'baseline'].map(
      (c) => coldResults.find((r) => `${r.scenario}|${r.contracts}` === key && (r as { checkout?: string }).checkout === c)!,
    );
    const [name, contracts] = key.split('|');
    console.log(
      `${name}, contracts ${contracts}: module load p50 ${mine!.module_load_median_ms} ms vs baseline ${base!.module_load_median_ms} ms (${ratio(mine!.module_load_median_ms, base!.module_load_median_ms)}); ` +
        `load + first invocation p50 ${mine!.load_plus_first_median_ms} ms vs ${base!.load_plus_first_median_ms} ms (${ratio(mine!.load_plus_first_median_ms, base!.load_plus_first_median_ms)})`,
    );
  }
  if (warmResults.length) {
    const [mine, base] = warmResults;
    console.log(
      `warm, ${mine!.scenario}: p50 ${mine!.p50_ms} vs ${base!.p50_ms} ms, p99 ${mine!.p99_ms} vs ${base!.p99_ms} ms (this vs baseline)`,
    );
  }
}
console.log(
  `contracts compile (${compileResults.schemas}): first loadContracts in process ${compileResults.first_load_ms} ms; median of ${compileResults.samples} fresh (new Ajv each) ${compileResults.load_median_ms} ms (max ${compileResults.load_max_ms}); compile only ${compileResults.compile_only_median_ms} ms; what the Lambda does instead, import the standalone validators (${compileResults.standalone_bytes} bytes) in a fresh process: median ${compileResults.standalone_import_median_ms} ms (max ${compileResults.standalone_import_max_ms})`,
);
if (coldOnly) process.exit(0);
const target = (scenario: string, limit: number) => {
  const r = handlerResults.find((x) => x.scenario === scenario && x.logs === 'INFO')!;
  console.log(`${r.p99_ms <= limit ? 'meets' : 'MISSES'} target: ${scenario} p99 ${r.p99_ms} ms (target ≤ ${limit} ms, logs at INFO)`);
};
target('1 record', 2);
target('100 records', 5);

// Contracts: p99 with contracts enforced within 1.5× of the same body with contracts off (and, for reference, of today's smaller records).
const CONTRACTS_LIMIT = 1.5;
const p99 = (scenario: string, logs: string) => handlerResults.find((x) => x.scenario === scenario && x.logs === logs)!.p99_ms;
for (const logs of ['SILENT', 'INFO'] as const) {
  for (const [count, today] of [
    ['1 page_view v2 record', '1 record'],
    ['100 page_view v2 records', '100 records'],
  ] as const) {
    const off = p99(`${count}, contracts off`, logs);
    const enforce = p99(`${count}, contracts enforce`, logs);
    const small = p99(today, logs);
    const ratio = enforce / off;
    console.log(
      `${ratio <= CONTRACTS_LIMIT ? 'within' : 'NOT within'} ${CONTRACTS_LIMIT}×: ${count}, logs at ${logs}: p99 ${enforce} ms enforced vs ${off} ms off (${ratio.toFixed(2)}×);` +
        ` vs '${today}' (smaller records, no contracts) ${small} ms (${(enforce / small).toFixed(2)}×)`,
    );
  }
}
