/**
 * CloudFormation and aws-cdk-lib's custom-resources Provider framework around our handlers, as
 * the framework's runtime (custom-resources/lib/provider-framework/runtime/framework.js and
 * cfn-response.js) calls them and answers CloudFormation:
 *
 * - `onEvent` first; its answer merged into the event (`PhysicalResourceId` defaulting to the
 *   request id on Create, the current one otherwise; a Delete may not change it);
 * - then `isComplete` every `queryIntervalMs` until `IsComplete` (no `Data` while false) or
 *   `totalTimeoutMs` ("Operation timed out");
 * - the response PUT to CloudFormation: `{Status, Reason, StackId, RequestId, PhysicalResourceId,
 *   LogicalResourceId, NoEcho, Data}`; a failure's `Reason` is the error's stack, which the framework
 *   builds from the function's `errorMessage`, a pointer to its logs and the Lambda runtime's
 *   `trace` (the error's stack, line by line);
 * - a failed Create answers with a marker id, and its Delete is ignored (never reaches the handler).
 *
 * Each call goes through JSON, as a Lambda invocation does.
 */
import type { CompletionEvent, CompletionResponse, OnEventResponse, ResourceEvent } from '@snowgate/snowflake/resource';

/** "The total combined size of the response object can't exceed 4096 bytes" (CloudFormation's custom resource response reference). */
export const CFN_RESPONSE_LIMIT = 4096;

export const CREATE_FAILED_PHYSICAL_ID_MARKER = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

export interface CfnResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason: string;
  StackId: string;
  RequestId: string;
  PhysicalResourceId: string;
  LogicalResourceId: string;
  NoEcho?: boolean;
  Data?: Record<string, string>;
}

export interface ProviderHarness {
  onEvent: (event: ResourceEvent) => Promise<OnEventResponse>;
  isComplete: (event: CompletionEvent) => Promise<CompletionResponse>;
  /** Advances the clock between polls (the Step Functions waiter's wait). */
  wait: (ms: number) => void;
  queryIntervalMs?: number;
  totalTimeoutMs?: number;
  functionName?: string;
}

/** As the Lambda runtime reports a thrown error, and the framework turns it into a reason. */
function reasonOf(error: unknown, functionName: string): string {
  const e = error as Error;
  const trace = (e.stack ?? `${e.name}: ${e.message}`).split('\n');
  return [e.message, '', `Logs: /aws/lambda/${functionName}`, '', ...trace.slice(1)].join('\n');
}

const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value));

export interface ProviderRun {
  response: CfnResponse;
  /** How many times isComplete was called. */
  polls: number;
  /** The response body's size in bytes, as PUT to CloudFormation. */
  bytes: number;
}

let requests = 0;

/** One CloudFormation request through the framework. */
export async function cfnRequest(
  harness: ProviderHarness,
  request: Omit<ResourceEvent, 'RequestId' | 'StackId'> & Partial<Pick<ResourceEvent, 'RequestId' | 'StackId'>>,
): Promise<ProviderRun> {
  const functionName = harness.functionName ?? 'dev-snowgate-Snowflake-ResourceOnEvent';
  const event: ResourceEvent = {
    RequestId: `0b4f6a3e-0000-4000-8000-${String(++requests).padStart(12, '0')}`,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/dev-snowgate-Snowflake/6f1c',
    ...request,
  };
  const respond = (Status: CfnResponse['Status'], PhysicalResourceId: string | undefined, extra: Partial<CfnResponse>, polls: number) => {
    const response: CfnResponse = {
      Status,
      Reason: Status,
      StackId: event.StackId,
      RequestId: event.RequestId,
      PhysicalResourceId: PhysicalResourceId ?? 'AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID',
      LogicalResourceId: event.LogicalResourceId,
      ...extra,
    };
    return { response, polls, bytes: Buffer.byteLength(JSON.stringify(response), 'utf8') };
  };
  if (event.RequestType === 'Delete' && event.PhysicalResourceId === CREATE_FAILED_PHYSICAL_ID_MARKER)
    return respond('SUCCESS', event.PhysicalResourceId, {}, 0);
  const failed = (error: unknown, polls: number) =>
    respond(
      'FAILED',
      event.PhysicalResourceId ?? (event.RequestType === 'Create' ? CREATE_FAILED_PHYSICAL_ID_MARKER : undefined),
      { Reason: reasonOf(error, functionName) },
      polls,
    );
  let started: CompletionEvent;
  try {
    const result = viaJson(await harness.onEvent(viaJson(event)));
    const PhysicalResourceId = result?.PhysicalResourceId ?? (event.RequestType === 'Create' ? event.RequestId : event.PhysicalResourceId!);
    if (event.RequestType === 'Delete' && PhysicalResourceId !== event.PhysicalResourceId)
      throw new Error(
        `DELETE: cannot change the physical resource ID from "${event.PhysicalResourceId}" to "${PhysicalResourceId}" during deletion`,
      );
    started = { ...event, ...result, PhysicalResourceId };
  } catch (error) {
    return failed(error, 0);
  }
  const interval = harness.queryIntervalMs ?? 10_000;
  const total = harness.totalTimeoutMs ?? 20 * 60_000;
  let polls = 0;
  for (let waited = 0; ; waited += interval) {
    if (waited > total) return respond('FAILED', started.PhysicalResourceId, { Reason: 'Operation timed out' }, polls);
    let answer: CompletionResponse & { Data?: Record<string, string> };
    try {
      polls += 1;
      answer = viaJson(await harness.isComplete(viaJson(started)));
    } catch (error) {
      return failed(error, polls);
    }
    if (answer.IsComplete) {
      return respond(
        'SUCCESS',
        started.PhysicalResourceId,
        { ...((started as { NoEcho?: boolean }).NoEcho ? { NoEcho: true } : {}), Data: { ...started.Data, ...answer.Data } },
        polls,
      );
    }
    if (answer.Data && Object.keys(answer.Data).length > 0)
      return failed(new Error('"Data" is not allowed if "IsComplete" is "False"'), polls);
    harness.wait(interval);
  }
}
