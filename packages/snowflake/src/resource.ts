import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type ExecuteOptions,
  JwtSource,
  parseKeySecret,
  SnowflakeSqlError,
  SqlApiClient,
  type SqlApiClientOptions,
} from '@snowgate/snowflake-api';
import { join } from 'node:path';
import * as z from '@snowgate/core/zod';
import {
  applyMigrations,
  leftToDrop,
  loadMigrations,
  type Migration,
  runTeardownScript,
  ScriptError,
  type SqlApi,
  statementRequestId,
} from './runner';
import { SNOWFLAKE_DIR, snowflakeVariablesSchema, type SnowflakeVariables } from './sql';
import { readBack, teardownFor } from './tool';

/**
 * The Snowflake side of `sst deploy` / `sst remove`: the handlers of two CloudFormation
 * custom resources served by aws-cdk-lib's custom-resources `Provider`
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html):
 *
 * - `Custom::SnowflakeObjects` runs the migrations not yet applied and answers what the AWS side
 *   needs (Snowflake's IAM user, the pipe's queue, the notification integrations' external IDs);
 *   on Delete, the teardown.
 * - `Custom::SnowflakeLink`, created once the role trusts that user and the bucket notifies that
 *   queue, waits until the storage integration can read the landing prefix (IAM propagates in
 *   seconds to minutes), then has the pipe load what landed before it was fed.
 *
 * The Provider's contract, as its framework (custom-resources/lib/provider-framework/runtime) calls it:
 * `onEvent` returns `{ PhysicalResourceId, Data }` or throws; `isComplete` gets the event merged with
 * what `onEvent` returned and answers `{ IsComplete }` (no `Data` while false) until true, an error, or
 * the Provider's `totalTimeout`. A thrown error's message becomes the stack event's reason. A failed
 * Create gets no Delete (the framework answers it with a marker id and ignores its Delete), and the
 * whole response to CloudFormation must fit in 4,096 bytes.
 */

/** What the framework passes to `onEvent` (its `OnEventRequest`, from CloudFormation's request). */
export interface ResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResourceType: string;
  LogicalResourceId: string;
  RequestId: string;
  StackId: string;
  /** Never sent with Create. */
  PhysicalResourceId?: string;
  /** CloudFormation sends every scalar as a string ("true", "42"). */
  ResourceProperties: Record<string, unknown>;
  OldResourceProperties?: Record<string, unknown>;
}

export interface OnEventResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
  /** Our own field, passed on to `isComplete`: when the Link began waiting (ms since the epoch). */
  LinkStartedAt?: number;
}

export type CompletionEvent = ResourceEvent & Partial<OnEventResponse>;

export interface CompletionResponse {
  IsComplete: boolean;
}

export const OBJECTS_RESOURCE_TYPE = 'Custom::SnowflakeObjects';
export const LINK_RESOURCE_TYPE = 'Custom::SnowflakeLink';

/**
 * "The total combined size of the response object can't exceed 4096 bytes"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
 * A failure's reason is the error's message, the framework's pointer to the logs and the error's
 * stack (see `asProviderError`), beside ids of a few hundred bytes: a message this long leaves room.
 */
export const REASON_MAX_CHARS = 1500;

/**
 * A Delete that cannot reach Snowflake fails within this, not after the client's 10-minute
 * deadline: CloudFormation waits on it (and `sst remove` with it) the whole time.
 */
export const DELETE_DEADLINE_MS = 60_000;
/**
 * The migrations and the read-back of a Create or Update, in all. With a failed Create's cleanup
 * (`DELETE_DEADLINE_MS`) it ends before the onEvent function's 10-minute timeout (stacks/Snowflake.ts):
 * a function that times out says nothing of why, and cleans nothing up.
 */
export const APPLY_DEADLINE_MS = 7 * 60_000;
/** One isComplete call of the Link (a validation, a refresh): under that function's 2-minute timeout. */
export const LINK_CALL_DEADLINE_MS = 90_000;
/**
 * How long the Link waits for the integration to become valid before it fails with the last
 * answer: under the Provider's `totalTimeout` (about 20 minutes, stacks/Snowflake.ts), whose own
 * failure says only "Operation timed out".
 */
export const LINK_VALIDATION_TIMEOUT_MS = 17 * 60_000;
/** The test file name `SYSTEM$VALIDATE_STORAGE_INTEGRATION` takes; a `list` validation does not need it to exist. */
export const VALIDATION_PROBE = 'snowgate-validation-probe';

export interface ResourceDeps {
  /** Reads `Account.secretArn`: the only secret the handlers may read. */
  secrets: SecretsManagerClient;
  /** Where `migrations/` and `teardown.sql` are (the repository's `snowflake/`, or the bundle's copy). */
  sqlDir?: string;
  log?: (line: string) => void;
  /** Passed on to the SQL API client (tests: a clock its waits advance, so that nothing is waited); its `now` measures the deadlines. */
  client?: Partial<Pick<SqlApiClientOptions, 'fetch' | 'now' | 'sleep' | 'random' | 'backoff' | 'pollIntervalMs'>>;
  /** The Link's clock: how long it has waited for the integration, across isComplete calls. */
  now?: () => number;
  deleteDeadlineMs?: number;
  linkValidationTimeoutMs?: number;
}

const identifier = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]{0,254}$/, 'an unquoted Snowflake identifier'));
const accountSchema = z.object({
  identifier: z.string().check(z.regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'an account identifier')),
  url: z.string().check(z.regex(/^https?:\/\/[^/\s]+$/, 'the SQL API base URL, without a path')),
  secretArn: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/, 'a Secrets Manager secret ARN')),
  warehouse: z.optional(identifier),
});
export type ResourceAccount = z.infer<typeof accountSchema>;

/** `Custom::SnowflakeObjects`'s properties: nothing secret (the key stays in the secret). */
export const objectsPropertiesSchema = z.object({
  Stage: z.string().check(z.minLength(1)),
  Production: z.enum(['true', 'false']),
  Account: accountSchema,
  Variables: z.record(z.string(), z.string()),
  /** Each migration's file and checksum, as synthesized: a new or changed one makes this an Update. */
  Migrations: z.array(z.object({ file: z.string(), checksum: z.string() })),
});
export type ObjectsProperties = z.infer<typeof objectsPropertiesSchema>;

/** `Custom::SnowflakeLink`'s properties. */
export const linkPropertiesSchema = z.object({
  Account: accountSchema,
  /** The role the statements run as (the migrations' admin role); absent: the user's default role. */
  Role: z.optional(identifier),
  Integration: identifier,
  StageUrl: z.string().check(z.regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([A-Za-z0-9!_.*()=-]+\/)+$/, 's3://<bucket>/<prefix>/')),
  /** DATABASE.SCHEMA.PIPE */
  Pipe: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, 'DATABASE.SCHEMA.PIPE')),
  Mode: z.enum(['files', 'streaming']),
  /** The Objects resource's migrations checksum: new migrations validate and refresh again. */
  Nonce: z.string(),
});
export type LinkProperties = z.infer<typeof linkPropertiesSchema>;

/** What `Custom::SnowflakeObjects` answers (`Fn::GetAtt`): read back from Snowflake, nothing secret. */
export interface ObjectsData extends Record<string, string> {
  IamUserArn: string;
  StorageExternalId: string;
  NotificationChannelArn: string;
  AlertExternalId: string;
  ErrorExternalId: string;
}

/** A failure CloudFormation shows as the stack event's reason: one message, short, nothing secret. */
export class ResourceError extends Error {
  override name = 'ResourceError';
}

function parseProperties<T>(schema: z.ZodMiniType<T>, properties: unknown, what: string): T {
  const parsed = schema.safeParse(properties);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  throw new ResourceError(`${what}: bad properties (${issues})`);
}

/**
 * The physical id of the objects: the account and the schema they live in. Another account or
 * schema is another resource, so CloudFormation creates the new one and then deletes the old.
 *
 * @example
 * objectsPhysicalId({ identifier: 'myorg-myaccount' }, { database: 'SNOWGATE', schema: 'DEV' }) // → 'snowflake:myorg-myaccount:SNOWGATE.DEV'
 */
export function objectsPhysicalId(account: Pick<ResourceAccount, 'identifier'>, v: Pick<SnowflakeVariables, 'database' | 'schema'>) {
  return `snowflake:${account.identifier}:${v.database}.${v.schema}`;
}

/** The Link's physical id: the integration it validates and the pipe it refreshes. */
export function linkPhysicalId(p: Pick<LinkProperties, 'Account' | 'Integration' | 'Pipe'>) {
  return `snowflake-link:${p.Account.identifier}:${p.Integration}:${p.Pipe}`;
}

/** The key from the secret, and a client that signs with it. Neither the key nor the secret's text goes anywhere else. */
async function connect(account: ResourceAccount, deps: ResourceDeps, overrides: Partial<SqlApiClientOptions> = {}): Promise<SqlApiClient> {
  let secretString: string | undefined;
  try {
    const answer = await deps.secrets.send(new GetSecretValueCommand({ SecretId: account.secretArn }));
    secretString = answer.SecretString;
  } catch (error) {
    // The SDK's error names the secret and the denial, never a value.
    throw new ResourceError(
      `cannot read the Snowflake key secret ${account.secretArn}: ${(error as Error).name}: ${(error as Error).message}`,
    );
  }
  if (!secretString)
    throw new ResourceError(`the Snowflake key secret ${account.secretArn} has no SecretString: store it with pnpm snowflake:secret`);
  let auth: JwtSource;
  try {
    const { user, privateKey, passphrase } = parseKeySecret(secretString);
    auth = new JwtSource({ account: account.identifier, user, privateKey, passphrase });
  } catch (error) {
    // SnowflakeKeyError messages never hold key material; anything else is not trusted to say so.
    const message = (error as Error).name === 'SnowflakeKeyError' ? (error as Error).message : 'the key cannot be read';
    throw new ResourceError(`the Snowflake key secret ${account.secretArn}: ${message}`);
  }
  return new SqlApiClient({ baseUrl: account.url, auth, ...deps.client, ...overrides });
}

/**
 * Snowflake's own words for a failed statement: a `SnowflakeSqlError`'s message carries its code and
 * SQL state, and the runner's names the file and statement around it.
 */
export function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The message CloudFormation will show, cut to fit its 4 KB response with the framework's additions. */
export function reasonFor(message: string): string {
  return message.length <= REASON_MAX_CHARS ? message : `${message.slice(0, REASON_MAX_CHARS - 1)}…`;
}

/** The statements' context: the admin role, and the warehouse named for the deploy (if any). */
function contextOf(account: ResourceAccount, role: string | undefined): ExecuteOptions {
  return { ...(role ? { role } : {}), ...(account.warehouse ? { warehouse: account.warehouse } : {}) };
}

/**
 * The bundled migrations this event runs: those its `Migrations` property lists with the checksum
 * the bundle has. Both come from the same synth, so normally that is all of them. A rollback Update
 * is the exception: CloudFormation sends the previous properties to the new code, and migrations
 * only go forward (as schemachange's), so a newer one stays applied and a changed repeatable one
 * stays as it is; what the properties list but the bundle does not have is skipped, and said.
 * A Create must match exactly: a mismatch there is a build that bundled other SQL than it synthesized.
 */
export function migrationsFor(
  event: Pick<ResourceEvent, 'RequestType'>,
  bundled: Migration[],
  listed: ObjectsProperties['Migrations'],
  log: (line: string) => void,
): Migration[] {
  const wanted = new Map(listed.map((m) => [m.file, m.checksum]));
  const mismatched = [
    ...bundled.filter((m) => wanted.get(m.file) !== m.checksum).map((m) => m.file),
    ...listed.filter((m) => !bundled.some((b) => b.file === m.file)).map((m) => m.file),
  ];
  if (mismatched.length && event.RequestType === 'Create')
    throw new ResourceError(
      `the function's bundled migrations are not the ones the stack lists (${[...new Set(mismatched)].join(', ')}): deploy again from one checkout`,
    );
  if (mismatched.length)
    log(
      `not run (the properties and the bundle disagree on them, as in a rollback; migrations only go forward): ${[...new Set(mismatched)].join(', ')}`,
    );
  return bundled.filter((m) => wanted.get(m.file) === m.checksum);
}

const BY_HAND = 'see docs/DEPLOYING.md, "Removing by hand"';

interface ObjectsStage {
  properties: ObjectsProperties;
  variables: SnowflakeVariables;
  sqlDir: string;
  log: (line: string) => void;
}

function objectsStage(event: ResourceEvent, deps: ResourceDeps): ObjectsStage {
  const properties = parseProperties(objectsPropertiesSchema, event.ResourceProperties, OBJECTS_RESOURCE_TYPE);
  const parsed = snowflakeVariablesSchema.safeParse(properties.Variables);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ResourceError(`${OBJECTS_RESOURCE_TYPE}: bad Variables (${issues})`);
  }
  return { properties, variables: parsed.data, sqlDir: deps.sqlDir ?? SNOWFLAKE_DIR, log: deps.log ?? (() => undefined) };
}

/** Runs the teardown (production keeps RAW_EVENTS). Never throws: says why it stopped and what is left to drop. */
async function tearDown(client: SqlApi, stage: ObjectsStage, requestIdPrefix: string) {
  const { script, keptTable } = teardownFor({
    config: { production: stage.properties.Production === 'true' },
    variables: stage.variables,
    file: join(stage.sqlDir, 'teardown.sql'),
  });
  try {
    await runTeardownScript(client, stage.variables, script, {
      requestIdPrefix,
      ...(stage.properties.Account.warehouse ? { warehouse: stage.properties.Account.warehouse } : {}),
      print: stage.log,
    });
  } catch (error) {
    // The runner says where the script stopped: that statement and the ones after it did not run.
    const left = leftToDrop(error instanceof ScriptError ? error.notRun : script.statements);
    return { failure: describeFailure(error), left, keptTable };
  }
  return { failure: undefined, left: [], keptTable };
}

/** The client with one deadline for every statement sent through it: what is left of it goes with each. */
function withDeadline(client: SqlApiClient, deadlineMs: number, now: () => number): SqlApi {
  const deadline = now() + deadlineMs;
  return {
    execute: (statement, options = {}) => {
      const left = deadline - now();
      if (left <= 0) throw new ResourceError(`gave up: ${Math.round(deadlineMs / 1000)} s passed`);
      return client.execute(statement, { ...options, deadlineMs: left });
    },
  };
}

/**
 * A new database or schema in the same account is a new physical id, so CloudFormation would create
 * the objects there and then delete the old ones, and that Delete's teardown would drop the
 * integrations and roles both share by name (they are named after the stage). Refused before anything
 * runs; another account shares nothing, and moves.
 */
function refuseMoveInAccount(event: ResourceEvent, physicalId: string): void {
  const old = event.RequestType === 'Update' ? event.PhysicalResourceId : undefined;
  if (!old || old === physicalId) return;
  const account = (id: string) => id.split(':')[1]?.toLowerCase();
  if (account(old) !== account(physicalId)) return;
  throw new ResourceError(
    `cannot move the Snowflake objects from ${old.split(':')[2]} to ${physicalId.split(':')[2]} in the same account: removing the old ones would drop the integrations and roles the new ones share. Deploy the previous database and schema again, or remove the stage (pnpm sst remove) and deploy it with the new ones`,
  );
}

async function applyObjects(event: ResourceEvent, deps: ResourceDeps): Promise<OnEventResponse> {
  const stage = objectsStage(event, deps);
  const { properties: p, variables: v, log } = stage;
  const physicalId = objectsPhysicalId(p.Account, v);
  refuseMoveInAccount(event, physicalId);
  const migrations = migrationsFor(event, loadMigrations(v, join(stage.sqlDir, 'migrations')), p.Migrations, log);
  const client = await connect(p.Account, deps);
  const now = deps.client?.now ?? Date.now;
  const sql = withDeadline(client, APPLY_DEADLINE_MS, now);
  const warehouse = p.Account.warehouse ? { warehouse: p.Account.warehouse } : {};
  try {
    const { applied } = await applyMigrations(sql, v, { requestIdPrefix: event.RequestId, migrations, ...warehouse, print: log });
    log(`${event.RequestType} ${physicalId}: ran ${applied.length ? applied.join(', ') : 'no migration (all applied)'}`);
    const back = await readBack(sql, v);
    const Data: ObjectsData = {
      IamUserArn: back.iamUserArn,
      StorageExternalId: back.storageExternalId,
      NotificationChannelArn: back.notificationChannelArn,
      AlertExternalId: back.alertExternalId,
      ErrorExternalId: back.errorExternalId,
    };
    return { PhysicalResourceId: physicalId, Data };
  } catch (error) {
    const failure = `${event.RequestType} of the Snowflake objects of stage ${p.Stage} (${physicalId}) failed: ${describeFailure(error)}`;
    // A failed Create gets no Delete from CloudFormation: what it made would stay behind. An Update is rolled back instead.
    if (event.RequestType !== 'Create') throw new ResourceError(reasonFor(failure));
    log(`${failure}; running the teardown`);
    const cleanup = await tearDown(withDeadline(client, DELETE_DEADLINE_MS, now), stage, `${event.RequestId}:cleanup`);
    if (!cleanup.failure) throw new ResourceError(reasonFor(`${failure}. Cleaned up: the teardown dropped what it had created.`));
    throw new ResourceError(
      reasonFor(`${failure}. The cleanup failed too (${cleanup.failure}); left to drop: ${cleanup.left.join(', ')}; ${BY_HAND}`),
    );
  }
}

async function deleteObjects(event: ResourceEvent, deps: ResourceDeps): Promise<OnEventResponse> {
  const physicalId = event.PhysicalResourceId!;
  const stage = objectsStage(event, deps);
  const deadlineMs = deps.deleteDeadlineMs ?? DELETE_DEADLINE_MS;
  // Fail fast: one HTTP exchange may take a tenth of the deadline, and the whole teardown, retries and polls included, the deadline.
  const client = await connect(stage.properties.Account, deps, {
    requestTimeoutMs: Math.ceil(deadlineMs / 10),
    backoff: { ...deps.client?.backoff, budgetMs: Math.ceil(deadlineMs / 2) },
  });
  const result = await tearDown(withDeadline(client, deadlineMs, deps.client?.now ?? Date.now), stage, event.RequestId);
  if (result.failure) {
    throw new ResourceError(
      reasonFor(
        `could not remove the Snowflake objects of stage ${stage.properties.Stage} (${physicalId}) at ${stage.properties.Account.url}: ${result.failure}. Left to drop, in order: ${result.left.join(', ')}; ${BY_HAND}`,
      ),
    );
  }
  stage.log(
    result.keptTable
      ? `removed ${physicalId}; kept ${result.keptTable} and its data (a production stage)`
      : `removed ${physicalId}, RAW_EVENTS and its data included`,
  );
  return { PhysicalResourceId: physicalId };
}

/** The validation's verdict: `SYSTEM$VALIDATE_STORAGE_INTEGRATION`'s JSON, or the error it raised. */
export interface Validation {
  valid: boolean;
  /** What Snowflake said, for the log and for a final failure. */
  detail: string;
}

/**
 * Asks Snowflake whether the integration can use the landing prefix. `list` rather than `read`:
 * `read` fails unless the test file exists, and listing needs what loading needs first
 * (assuming the role, `s3:ListBucket` on the prefix). While the role's trust policy propagates,
 * Snowflake answers `"status":"failure"` (or an error naming AssumeRole): not valid yet.
 */
export async function validateIntegration(client: SqlApiClient, p: LinkProperties): Promise<Validation> {
  const statement = `SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION('${p.Integration}', '${p.StageUrl}', '${VALIDATION_PROBE}', 'list')`;
  let text: string | null | undefined;
  try {
    const result = await client.execute(statement, contextOf(p.Account, p.Role));
    text = result.rows[0]?.[result.columns[0] ?? ''];
  } catch (error) {
    // Access denied while IAM propagates comes back as a failed statement too; anything else is a real failure.
    if (error instanceof SnowflakeSqlError && /assume|access denied|not authorized|forbidden/i.test(error.message))
      return { valid: false, detail: error.message };
    throw error;
  }
  let verdict: { status?: unknown } | undefined;
  try {
    verdict = JSON.parse(text ?? '');
  } catch {
    throw new ResourceError(`SYSTEM$VALIDATE_STORAGE_INTEGRATION answered ${JSON.stringify(text)}, not JSON`);
  }
  return { valid: String(verdict?.status).toLowerCase() === 'success', detail: text ?? '' };
}

async function completeLink(event: CompletionEvent, deps: ResourceDeps): Promise<CompletionResponse> {
  const p = parseProperties(linkPropertiesSchema, event.ResourceProperties, LINK_RESOURCE_TYPE);
  const log = deps.log ?? (() => undefined);
  const now = deps.now ?? Date.now;
  const client = await connect(p.Account, deps, {
    deadlineMs: LINK_CALL_DEADLINE_MS,
    requestTimeoutMs: LINK_CALL_DEADLINE_MS / 3,
    backoff: { ...deps.client?.backoff, budgetMs: LINK_CALL_DEADLINE_MS / 2 },
  });
  const validation = await validateIntegration(client, p);
  if (!validation.valid) {
    const waited = now() - (event.LinkStartedAt ?? now());
    const timeout = deps.linkValidationTimeoutMs ?? LINK_VALIDATION_TIMEOUT_MS;
    if (waited >= timeout)
      throw new ResourceError(
        reasonFor(
          `storage integration ${p.Integration} still cannot use ${p.StageUrl} after ${Math.round(waited / 1000)} s: ${validation.detail}. Check the Snowflake role's trust policy (Snowflake's IAM user and the external ID) and its access to the prefix`,
        ),
      );
    log(`integration ${p.Integration} not valid yet (${Math.round(waited / 1000)} s): ${validation.detail}`);
    return { IsComplete: false };
  }
  log(`integration ${p.Integration} can use ${p.StageUrl}`);
  if (p.Mode === 'files') {
    // Loads what landed before the bucket notified the pipe; one request per CloudFormation request
    // (a resend after a lost answer is answered, not run again). Load history keeps a file from loading twice.
    await client.execute(`ALTER PIPE ${p.Pipe} REFRESH`, {
      ...contextOf(p.Account, p.Role),
      requestId: statementRequestId(event.RequestId, 'refresh', p.Pipe),
      retry: true,
    });
    log(`refreshed ${p.Pipe}: files that landed before it was notified are queued`);
  }
  return { IsComplete: true };
}

/**
 * The Provider's `onEvent`: the Objects resource does its work here (within `APPLY_DEADLINE_MS`,
 * the statements being DDL); the Link only starts its wait.
 */
export async function handleEvent(event: ResourceEvent, deps: ResourceDeps): Promise<OnEventResponse> {
  const log = deps.log ?? (() => undefined);
  log(
    `${event.RequestType} ${event.ResourceType} ${event.LogicalResourceId}${event.PhysicalResourceId ? ` (${event.PhysicalResourceId})` : ''}`,
  );
  try {
    if (event.ResourceType === OBJECTS_RESOURCE_TYPE)
      return event.RequestType === 'Delete' ? await deleteObjects(event, deps) : await applyObjects(event, deps);
    if (event.ResourceType === LINK_RESOURCE_TYPE) {
      if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId! };
      const p = parseProperties(linkPropertiesSchema, event.ResourceProperties, LINK_RESOURCE_TYPE);
      return { PhysicalResourceId: linkPhysicalId(p), LinkStartedAt: (deps.now ?? Date.now)() };
    }
    throw new ResourceError(`no handler for ${event.ResourceType} (only ${OBJECTS_RESOURCE_TYPE} and ${LINK_RESOURCE_TYPE})`);
  } catch (error) {
    throw asProviderError(error);
  }
}

/** The Provider's `isComplete`: only a Link's Create or Update waits. */
export async function checkComplete(event: CompletionEvent, deps: ResourceDeps): Promise<CompletionResponse> {
  try {
    if (event.ResourceType !== LINK_RESOURCE_TYPE || event.RequestType === 'Delete') return { IsComplete: true };
    return await completeLink(event, deps);
  } catch (error) {
    throw asProviderError(error);
  }
}

/**
 * The error the framework turns into the stack event's reason: the message (cut to fit), and a stack
 * that is just that message, since the framework appends the handler's stack trace to the reason.
 */
export function asProviderError(error: unknown): ResourceError {
  const message = reasonFor(error instanceof ResourceError ? error.message : describeFailure(error));
  const clean = new ResourceError(message);
  clean.stack = `${clean.name}: ${message}`;
  return clean;
}
