/**
 * The architecture, as rules that fail `pnpm test` (`pnpm lint:arch`) when an
 * import runs the wrong way. One direction of travel: the domain (core) at the
 * bottom, configuration above it, delivery (functions), the twin, the tools and
 * the stacks on top; tests import everything, nothing imports tests.
 *
 * Workspace packages resolve to their sources (`packages/<name>/src/…`), so the
 * paths below are the packages.
 */

/**
 * Violations that exist today and are being removed by work under way. Each is
 * an exact edge or cycle: any new one fails. Delete an entry once its change has
 * landed (`pnpm lint:arch` then says nothing of it). The entries are in
 * dependency-cruiser's known-violations format, which
 * `pnpm lint:arch --output-type baseline` prints for today's violations.
 */
const KNOWN_VIOLATIONS = [];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-workspace-package',
      comment: 'packages/core is the domain: it depends on no other Snowgate package (config, cost, contracts, functions, twin, …).',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '^packages/', pathNot: '^packages/core/' },
    },
    {
      name: 'core-imports-no-aws',
      comment: 'packages/core imports neither the AWS SDK nor Lambda tooling: those belong to packages/functions.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '(^|node_modules/)(@aws-sdk|@smithy|@aws-lambda-powertools|@middy|aws-lambda|aws-cdk-lib)(/|$)' },
    },
    {
      name: 'core-imports-no-ajv',
      comment: 'packages/core judges records with compiled validators; compiling (Ajv) is @snowgate/contracts, at build time.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '(^|node_modules/)(ajv|ajv-formats)(/|$)' },
    },
    {
      name: 'core-imports-no-io',
      comment:
        'packages/core does no I/O: no node:fs, no network, no process. Only node:zlib (request bodies are decoded in the domain) ' +
        'and node:crypto (API keys are hashed and compared in constant time) are pure enough to stay.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?(zlib|crypto)$' },
    },
    {
      name: 'core-imports-only-zod',
      comment: 'Besides node:zlib and node:crypto, the domain needs zod and nothing else from npm.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], pathNot: 'node_modules/zod/' },
    },
    {
      name: 'lambda-bundles-no-build-tooling',
      comment:
        'The Lambda functions never import the cost model, schema compilation (Ajv) or the configuration that reads files ' +
        '(@snowgate/config/files, @snowgate/config/snowflake): they would land in the function bundle.',
      severity: 'error',
      from: { path: '^packages/functions/', pathNot: '^packages/functions/src/snowflake-resource\\.ts$' },
      to: {
        path: [
          '^packages/(cost|contracts|twin|replay|snowflake|client)/',
          '^packages/config/src/(files|snowflake)\\.ts$',
          '(^|node_modules/)(ajv|ajv-formats)(/|$)',
        ],
      },
    },
    {
      name: 'snowflake-resource-imports-only-the-handlers',
      comment:
        "The Snowflake custom resources' Lambda entry bundles the handlers (packages/snowflake/src/resource.ts, with the " +
        'runner and the SQL API client they use), and nothing else of packages/snowflake or the other tools.',
      severity: 'error',
      from: { path: '^packages/functions/src/snowflake-resource\\.ts$' },
      to: {
        path: ['^packages/(cost|contracts|twin|replay|snowflake|client)/', '^packages/config/src/(files|snowflake)\\.ts$'],
        pathNot: '^packages/snowflake/src/resource\\.ts$',
      },
    },
    {
      name: 'lambda-code-uses-zod-mini',
      comment:
        'What the Lambda functions bundle (core, functions, the configuration they read) uses zod/mini through ' +
        '@snowgate/core/zod: classic zod does not tree-shake (~450 KB in a bundle). Classic zod stays in the stage config, ' +
        'the Snowflake connection and the tools. docs/decisions/012-lean-ingest-lambda.md',
      severity: 'error',
      from: {
        path: '^packages/(core|functions)/|^packages/config/src/',
        pathNot: '^packages/config/src/(stage-config|snowflake|files)\\.ts$',
      },
      to: { path: '(^|node_modules/)zod/', pathNot: '(^|node_modules/)zod/(mini|v4/(core|locales|mini))/' },
    },
    {
      name: 'lambda-s3-sdk-on-first-use',
      comment:
        'The ingest Lambda loads the S3 SDK on the first request that quarantines: in packages/functions only s3.ts (imported with import()) ' +
        'and clients.ts (the twin and the tools) import it at run time, and the Lambda entries do not import clients.ts.',
      severity: 'error',
      from: { path: '^packages/functions/src/', pathNot: '^packages/functions/src/(s3|clients)\\.ts$' },
      to: {
        path: ['(^|node_modules/)@aws-sdk/client-s3(/|$)', '^packages/functions/src/clients\\.ts$'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'config-main-entry-reads-no-files',
      comment: "@snowgate/config's main entry is bundled into the Lambda: file reading lives in its ./files and ./snowflake entries.",
      severity: 'error',
      from: { path: '^packages/config/src/', pathNot: '^packages/config/src/(files|snowflake)\\.ts$' },
      to: { path: ['^(node:)?fs$', '^(node:)?fs/promises$', '^packages/config/src/(files|snowflake)\\.ts$'] },
    },
    {
      name: 'snowflake-api-stands-alone',
      comment:
        'packages/snowflake-api (JWT, SQL API) is bundled into Lambdas and reused by the tools: it imports no other Snowgate package ' +
        "but @snowgate/config, and nothing from npm (Node's crypto and fetch are enough).",
      severity: 'error',
      from: { path: '^packages/snowflake-api/' },
      to: {
        path: ['^packages/', '(^|/)node_modules/'],
        pathNot: ['^packages/(snowflake-api|config)/', '(^|/)node_modules/@types/node/'],
      },
    },
    {
      name: 'nothing-imports-tests',
      comment: 'Tests import the product, never the other way round: move what is shared out of tests/.',
      severity: 'error',
      from: { path: '^(packages|stacks|cli|bench)/|^sst\\.config\\.ts$' },
      to: { path: '^tests/' },
    },
    {
      name: 'packages-import-no-app-code',
      comment: 'Packages are imported by the stacks and the commands and benchmarks, not the other way round.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^(stacks|cli|bench)/|^sst\\.config\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a package missing from the importing package.json (or a typo).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles: a cycle means two modules are one concern, or one of them is in the wrong place.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    knownViolations: KNOWN_VIOLATIONS,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(\\.sst|\\.build|\\.snowgate|\\.bench|cdk\\.out)/' },
    // Type-only imports count: a type from the wrong package is a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
