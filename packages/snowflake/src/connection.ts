import type { ConnectionSettings } from '@snowgate/config/snowflake';
import type { ConnectionOptions, createConnection } from 'snowflake-sdk';
import type { SqlSession } from './tool';

// The connection's environment is read and validated with the rest of the configuration.
export { connectionSettingsFromEnv, connectionSettingsSchema, type ConnectionSettings } from '@snowgate/config/snowflake';

/**
 * A session over `snowflake-sdk` with key-pair (JWT) authentication, as `role`.
 * `sdk` is the driver's `createConnection`; tests pass a fake one.
 */
export async function connectSnowflake(settings: ConnectionSettings, role: string, sdk: typeof createConnection): Promise<SqlSession> {
  const options: ConnectionOptions = {
    account: settings.SNOWFLAKE_ACCOUNT,
    username: settings.SNOWFLAKE_USER,
    authenticator: 'SNOWFLAKE_JWT',
    role,
    application: 'Snowgate',
    ...(settings.SNOWFLAKE_PRIVATE_KEY_PATH
      ? { privateKeyPath: settings.SNOWFLAKE_PRIVATE_KEY_PATH }
      : { privateKey: settings.SNOWFLAKE_PRIVATE_KEY! }),
    ...(settings.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE ? { privateKeyPass: settings.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE } : {}),
  };
  const connection = sdk(options);
  await new Promise<void>((resolve, reject) =>
    connection.connect((error) => (error ? reject(new Error(`Snowflake sign-in failed: ${error.message}`)) : resolve())),
  );
  return {
    execute: (sqlText) =>
      new Promise((resolve, reject) => {
        connection.execute({
          sqlText,
          complete: (error, _statement, rows) => (error ? reject(error) : resolve((rows ?? []) as Record<string, unknown>[])),
        });
      }),
    close: () => new Promise<void>((resolve) => connection.destroy(() => resolve())),
  };
}
