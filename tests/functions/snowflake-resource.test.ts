/**
 * The Snowflake custom resources' Lambda entry, as the Provider framework invokes it: one
 * function for both resource types. What they do is tested through resource.ts against the fake
 * account (tests/snowflake/resource.test.ts); here, that the entry serves the Provider's two
 * handlers and answers without reaching anything when there is nothing to do.
 */
import { isComplete, onEvent } from '@snowgate/functions/snowflake-resource';
import { describe, expect, it } from 'vitest';

const event = (ResourceType: string, RequestType: 'Create' | 'Update' | 'Delete', PhysicalResourceId?: string) => ({
  RequestType,
  ResourceType,
  LogicalResourceId: 'SnowflakeLink',
  RequestId: '5e0e3c52-0000-4000-8000-000000000001',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/dev-snowgate-Snowflake/6f1c',
  ...(PhysicalResourceId ? { PhysicalResourceId } : {}),
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:x' },
});

describe('snowflake-resource entry', () => {
  it("a Link's Delete keeps its id and is complete at once", async () => {
    const id = 'snowflake-link:myorg-myaccount:SNOWGATE_DEV_S3:SNOWGATE.DEV.RAW_EVENTS_PIPE';
    const started = await onEvent(event('Custom::SnowflakeLink', 'Delete', id));
    expect(started).toEqual({ PhysicalResourceId: id });
    expect(await isComplete({ ...event('Custom::SnowflakeLink', 'Delete', id), ...started })).toEqual({ IsComplete: true });
  });

  it('refuses a resource type it does not serve, and properties it cannot use, in one line each', async () => {
    await expect(onEvent(event('Custom::Other', 'Create'))).rejects.toThrow(
      /^no handler for Custom::Other \(only Custom::SnowflakeObjects and Custom::SnowflakeLink\)$/,
    );
    await expect(onEvent(event('Custom::SnowflakeObjects', 'Create'))).rejects.toThrow(
      /^Custom::SnowflakeObjects: bad properties \(Stage: /,
    );
  });
});
