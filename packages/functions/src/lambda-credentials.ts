import { fromEnv, type FromEnvInit } from '@aws-sdk/credential-provider-env';

/**
 * The SDK's default credential provider, as the Lambda bundles have it: the
 * stacks' bundling (stacks/bundling.ts) puts this module in place of
 * `@aws-sdk/credential-provider-node`, whose chain (environment, SSO, ini
 * files, web identity, ECS, instance metadata, with STS and SSO clients of its
 * own) is about 120 KB of each bundle. A Lambda function gets its execution
 * role's credentials in its environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the first place that chain
 * looks: the same credentials, found the same way. Without them the first call
 * fails with the SDK's own "Unable to find environment variable credentials.".
 *
 * The local twin, the CLIs and the tests run unbundled, with the full chain.
 */
export const defaultProvider = (init?: FromEnvInit): ReturnType<typeof fromEnv> => fromEnv(init);
