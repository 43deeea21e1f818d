import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  type CompletionEvent,
  type CompletionResponse,
  checkComplete,
  handleEvent,
  type OnEventResponse,
  type ResourceDeps,
  type ResourceEvent,
} from '@snowgate/snowflake/resource';
import { join } from 'node:path';

/**
 * The Snowflake custom resources' Lambda entry (aws-cdk-lib custom-resources `Provider`:
 * `onEvent` and `isComplete`); the work is in packages/snowflake/src/resource.ts. The SQL is
 * bundled beside this file (stacks/Snowflake.ts copies it, `SNOWGATE_SNOWFLAKE_DIR`); the key is read from
 * the one secret the properties name, and never logged.
 */
const logger = new Logger({ serviceName: 'snowgate-snowflake-resource' });
const deps: ResourceDeps = {
  secrets: new SecretsManagerClient({}),
  // The stack copies snowflake/ into the bundle and names the directory, relative to the task root.
  ...(process.env.LAMBDA_TASK_ROOT
    ? { sqlDir: join(process.env.LAMBDA_TASK_ROOT, process.env.SNOWGATE_SNOWFLAKE_DIR ?? 'snowflake') }
    : {}),
  log: (line) => logger.info(line),
};

export const onEvent = (event: ResourceEvent): Promise<OnEventResponse> => handleEvent(event, deps);
export const isComplete = (event: CompletionEvent): Promise<CompletionResponse> => checkComplete(event, deps);
