import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod for what runs in the Lambda functions: `zod/mini`, whose functions
 * tree-shake, so that a bundle holds only what its schemas use (classic `zod`
 * bundles to ~450 KB minified whatever is used). Core's schemas and the
 * Lambda's configuration (@snowgate/config's settings and env modules) import
 * it as a namespace, `import * as z from './zod'` (`@snowgate/core/zod`):
 * esbuild drops the unused parts of a namespace import, not of a `{ z }` object.
 *
 * Schemas compose with functions rather than methods: `z.optional(s)`,
 * `z._default(s, v)`, `z.string().check(z.minLength(1), z.regex(re, message))`;
 * parsing, issues and `z.infer` are zod's, unchanged. Classic zod composes
 * them the same way (`z.prefault(limitsSchema, {})` in the stage config).
 *
 * `zod/mini` loads no locale: without one every message is "Invalid input".
 * Classic zod's English messages are set here, once, for every schema (they
 * reach API answers, quarantine objects and configuration errors): that is why
 * this module is the package's one module with a side effect (package.json
 * `sideEffects`). `bench/schema-equivalence.ts` compares parses and messages
 * with another checkout's.
 */
config(en());

export * from 'zod/mini';
