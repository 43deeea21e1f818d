/**
 * PLACEHOLDER, replaced when the custom resource's handlers are merged: the Lambda entry of
 * `Custom::SnowflakeObjects` and `Custom::SnowflakeLink` (aws-cdk-lib's custom-resources Provider
 * calls `onEvent`, then `isComplete` until it answers `IsComplete: true`). It exists so that the
 * stacks synthesize and bundle; a deploy with it fails the resources with this message.
 */
const NOT_BUILT = 'snowflake-resource: not built yet (placeholder for the custom resource handlers)';

export async function onEvent(): Promise<never> {
  throw new Error(NOT_BUILT);
}

export async function isComplete(): Promise<never> {
  throw new Error(NOT_BUILT);
}
