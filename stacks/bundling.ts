import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';
import type { FunctionProps } from 'sst/constructs';

/**
 * How the functions are bundled: SST's `nodejs` props, the same for every
 * function. Why each choice, and what it costs: docs/decisions/012-lean-ingest-lambda.md.
 * The AWS SDK is bundled (its version is the lockfile's, not the runtime's).
 */
export function lambdaNodejs(root = process.cwd()) {
  return {
    format: 'esm',
    minify: true,
    // A module imported only with `import()` (the S3 client, loaded by the first request that quarantines)
    // becomes a file of its own, read when first imported; without splitting it would be parsed at every cold start.
    splitting: true,
    esbuild: {
      alias: {
        // Environment credentials only: what Lambda gives a function (packages/functions/src/lambda-credentials.ts).
        '@aws-sdk/credential-provider-node': resolve(root, 'packages/functions/src/lambda-credentials.ts'),
      },
      // Browser-only user-agent parsing that the SDK imports with `import()`: never loaded in Node, but with
      // splitting esbuild would ship it as a 37 KB file of its own.
      external: ['bowser'],
    },
  } as const satisfies FunctionProps['nodejs'];
}

/** The `nodejs` props that shape a bundle. */
export type NodejsProps = { minify?: boolean; splitting?: boolean; esbuild?: BuildOptions };

/**
 * The esbuild options SST v2 builds a function with, from its `nodejs` props
 * (sst/runtime/handlers/node.js, deploy mode, ESM), so that the bundle test and
 * `pnpm bench:handler` build exactly what deploy ships (with SST's own esbuild,
 * `sstEsbuild()`, the .mjs files come out byte for byte as synth writes them).
 */
export function sstBuildOptions(entry: string, outdir: string, nodejs: NodejsProps = lambdaNodejs()): BuildOptions {
  const { external, ...override } = nodejs.esbuild ?? {};
  return {
    entryPoints: [entry],
    platform: 'node',
    external: ['sharp', 'pg-native', ...(external ?? [])],
    keepNames: true,
    bundle: true,
    logLevel: 'silent',
    splitting: nodejs.splitting,
    metafile: true,
    outExtension: nodejs.splitting ? { '.js': '.mjs' } : undefined,
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        `const require = topLevelCreateRequire(import.meta.url);`,
        `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
        `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
        '',
      ].join('\n'),
    },
    // As SST names it: `<entry's name>.mjs`, beside the chunks when splitting.
    ...(nodejs.splitting ? { outdir } : { outfile: join(outdir, `${basename(entry).replace(/\.[cm]?[jt]sx?$/, '')}.mjs`) }),
    // Deploy writes sourcemaps beside the code (only the comment naming them lands in the .mjs files).
    sourcemap: true,
    minify: nodejs.minify,
    ...override,
  };
}

/** The esbuild that SST bundles functions with (its own dependency, which may differ from the workspace's). */
export function sstEsbuild(root = process.cwd()): typeof import('esbuild') {
  // From SST's real path: pnpm links its dependencies beside it, not under the workspace's node_modules.
  return createRequire(realpathSync(resolve(root, 'node_modules/sst/package.json')))('esbuild') as typeof import('esbuild');
}
