/**
 * The fake account's catalog is only as good as its refusals: what Snowflake would refuse
 * (unknown SQL, a missing object) is refused here too, and its faults do what they say.
 */
import { JwtSource, SnowflakeApiError, SnowflakeSqlError, SqlApiClient } from '@snowgate/snowflake-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAccount, startFakeSnowflakeAccount } from '../support/fake-snowflake-catalog';

let account: FakeAccount;
let sql: SqlApiClient;
beforeEach(async () => {
  account = await startFakeSnowflakeAccount({ validationFailures: 2 });
  sql = new SqlApiClient({
    baseUrl: account.fake.url,
    auth: new JwtSource({ account: account.account, user: account.user, privateKey: account.privateKey }),
    backoff: { baseMs: 1, maxMs: 5, budgetMs: 100 },
  });
});
afterEach(() => account.fake.close());

const refusal = (statement: string) =>
  sql.execute(statement, { role: 'ACCOUNTADMIN' }).then(
    () => undefined,
    (error: SnowflakeSqlError) => error,
  );

/** The database, schema, storage integration and stage the pipe statements need. */
async function landing() {
  for (const statement of [
    'CREATE DATABASE IF NOT EXISTS DB',
    'CREATE SCHEMA IF NOT EXISTS DB.S',
    "CREATE STORAGE INTEGRATION IF NOT EXISTS INT TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'S3' ENABLED = TRUE STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/r' STORAGE_AWS_EXTERNAL_ID = 'ext-1' STORAGE_ALLOWED_LOCATIONS = ('s3://b/events/')",
    "CREATE STAGE IF NOT EXISTS DB.S.LANDING URL = 's3://b/events/' STORAGE_INTEGRATION = INT",
    'CREATE TABLE IF NOT EXISTS DB.S.T (record VARIANT)',
    'CREATE PIPE IF NOT EXISTS DB.S.P AUTO_INGEST = TRUE AS COPY INTO DB.S.T FROM @DB.S.LANDING',
  ])
    await sql.execute(statement, { role: 'ACCOUNTADMIN' });
}

describe('the fake account refuses', () => {
  it('SQL it does not know (001003), and any object that does not exist (002003), as Snowflake does', async () => {
    expect(await refusal('CREATE TABEL DB.S.T (x INT)')).toMatchObject({ code: '001003', sqlState: '42000' });
    expect(await refusal('DESC INTEGRATION NOPE')).toMatchObject({
      code: '002003',
      message: expect.stringMatching(/does not exist or not authorized/),
    });
    expect(await refusal('DESC NOTIFICATION INTEGRATION NOPE')).toMatchObject({ code: '002003' });
    expect(await refusal('CREATE SCHEMA IF NOT EXISTS NODB.S')).toMatchObject({ code: '002003' });
    await sql.execute('CREATE DATABASE IF NOT EXISTS DB');
    await sql.execute('CREATE SCHEMA IF NOT EXISTS DB.S');
    expect(await refusal("CREATE STAGE IF NOT EXISTS DB.S.L URL = 's3://b/events/' STORAGE_INTEGRATION = NOPE")).toMatchObject({
      code: '002003',
    });
    expect(await refusal('SELECT SCRIPT FROM DB.S.MIGRATION_HISTORY')).toMatchObject({ code: '002003', sqlState: '42S02' });
    expect(await refusal('ALTER PIPE DB.S.P REFRESH')).toMatchObject({ code: '002003' });
    // …and what it refused, it did not remember.
    expect(account.catalog.objects.size).toBe(0);
  });

  it('drops what exists, and succeeds on what does not (IF EXISTS)', async () => {
    await landing();
    await sql.execute('DROP PIPE IF EXISTS DB.S.P');
    await sql.execute('DROP PIPE IF EXISTS DB.S.P');
    await sql.execute('DROP INTEGRATION IF EXISTS INT');
    expect([...account.catalog.objects.keys()]).toEqual(['DB.S.LANDING', 'DB.S.T']);
    expect(await refusal('DESC INTEGRATION INT')).toMatchObject({ code: '002003' });
  });
});

describe('the fake account remembers and reads back', () => {
  it("one IAM user per account, the external ID set, the notification integration's own ID, one queue for every pipe", async () => {
    await landing();
    await sql.execute(
      "CREATE NOTIFICATION INTEGRATION IF NOT EXISTS N1 ENABLED = TRUE TYPE = QUEUE DIRECTION = OUTBOUND NOTIFICATION_PROVIDER = AWS_SNS AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:t' AWS_SNS_ROLE_ARN = 'arn:aws:iam::123456789012:role/a'",
    );
    const property = async (statement: string, name: string) =>
      (await sql.execute(statement)).rows.find((r) => r.property === name)?.property_value;
    expect(await property('DESC INTEGRATION INT', 'STORAGE_AWS_EXTERNAL_ID')).toBe('ext-1');
    expect(await property('DESC INTEGRATION INT', 'STORAGE_AWS_IAM_USER_ARN')).toBe(account.catalog.iamUserArn);
    const externalId = await property('DESC NOTIFICATION INTEGRATION N1', 'SF_AWS_EXTERNAL_ID');
    // Created again (IF NOT EXISTS): the same integration, the same external ID.
    await sql.execute(
      "CREATE NOTIFICATION INTEGRATION IF NOT EXISTS N1 ENABLED = TRUE TYPE = QUEUE DIRECTION = OUTBOUND NOTIFICATION_PROVIDER = AWS_SNS AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:t' AWS_SNS_ROLE_ARN = 'arn:aws:iam::123456789012:role/a'",
    );
    expect(await property('DESC NOTIFICATION INTEGRATION N1', 'SF_AWS_EXTERNAL_ID')).toBe(externalId);
    expect(await property('DESC NOTIFICATION INTEGRATION N1', 'SF_AWS_IAM_USER_ARN')).toBe(account.catalog.iamUserArn);
    const pipes = await sql.execute("SHOW PIPES LIKE 'P' IN SCHEMA DB.S");
    expect(pipes.rows).toMatchObject([
      { name: 'P', notification_channel: account.catalog.queueArn, definition: 'COPY INTO DB.S.T FROM @DB.S.LANDING' },
    ]);
    await sql.execute('ALTER PIPE DB.S.P REFRESH');
    expect(account.catalog.refreshes).toEqual([{ pipe: 'DB.S.P' }]);
  });

  it('validates the storage integration: failing as often as asked (IAM propagating), then success; a URL outside it is an error', async () => {
    await landing();
    const validate = async () =>
      JSON.parse(
        Object.values(
          (await sql.execute("SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION('INT', 's3://b/events/', 'probe', 'read')")).rows[0]!,
        )[0]!,
      );
    expect(await validate()).toMatchObject({ status: 'failure' });
    expect(await validate()).toMatchObject({ status: 'failure' });
    expect(await validate()).toEqual({ status: 'success', actions: { READ: { status: 'success' } } });
    expect(account.catalog.validations.map((v) => v.status)).toEqual(['failure', 'failure', 'success']);
    expect(await refusal("SELECT SYSTEM$VALIDATE_STORAGE_INTEGRATION('INT', 's3://other/', 'probe', 'read')")).toBeInstanceOf(
      SnowflakeSqlError,
    );
  });
});

describe('the fake account fails when told to', () => {
  it('a chosen statement, as often as asked', async () => {
    account.catalog.failOn(/^CREATE DATABASE/);
    expect(await refusal('CREATE DATABASE IF NOT EXISTS DB')).toMatchObject({ code: '003001', sqlState: '42501' });
    await expect(sql.execute('CREATE DATABASE IF NOT EXISTS DB')).resolves.toBeDefined();
  });

  it('every request, while unreachable', async () => {
    account.fake.unreachable = true;
    const error = await sql.execute('CREATE DATABASE IF NOT EXISTS DB').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnowflakeApiError);
    expect((error as Error).message).toMatch(/no answer .*gave up after \d+ attempts/);
    expect(account.fake.requests).toEqual([]);
    account.fake.unreachable = false;
    await expect(sql.execute('CREATE DATABASE IF NOT EXISTS DB')).resolves.toBeDefined();
  });
});
