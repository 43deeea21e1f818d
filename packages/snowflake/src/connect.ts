import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Env, StageConfig } from '@snowgate/config';
import { connectionSettingsFromEnv } from '@snowgate/config/snowflake';
import { JwtSource, type KeySecret, parseKeySecret, SqlApiClient, type SqlApiClientOptions } from '@snowgate/snowflake-api';
import { readFileSync } from 'node:fs';

// The connection's environment is read and validated with the rest of the configuration.
export { type ConnectionSettings, connectionSettingsFromEnv, connectionSettingsSchema } from '@snowgate/config/snowflake';

export interface ConnectOptions {
  /** The environment, for a stage without `snowflake.account` (`SNOWFLAKE_*`). */
  env?: Env;
  /** Made only for a stage with `snowflake.account`: its secret holds the key. */
  secretsManager?: () => SecretsManagerClient;
  /** The client's settings (tests shorten its retry budget). */
  client?: Partial<Omit<SqlApiClientOptions, 'baseUrl' | 'auth'>>;
}

/**
 * The SQL API client for a stage, signed in with key-pair JWT: as the user in the stage's secret
 * (`snowflake.account.secretName`, stored by `pnpm snowflake:secret`) at `snowflake.account.url`
 * when the config names an account, else as `SNOWFLAKE_USER` of `SNOWFLAKE_ACCOUNT` with the key
 * from `SNOWFLAKE_PRIVATE_KEY_PATH` or `SNOWFLAKE_PRIVATE_KEY`. Returns where the key came from, to say.
 */
export async function connectSqlApi(config: StageConfig, options: ConnectOptions = {}): Promise<{ sql: SqlApiClient; from: string }> {
  const account = config.snowflake.account;
  let identifier: string;
  let baseUrl: string;
  let key: KeySecret;
  let from: string;
  if (account) {
    if (!options.secretsManager) throw new Error('a Secrets Manager client is needed to read the key');
    let secretString: string | undefined;
    try {
      secretString = (await options.secretsManager().send(new GetSecretValueCommand({ SecretId: account.secretName }))).SecretString;
    } catch (error) {
      const name = (error as Error).name;
      throw new Error(
        name === 'ResourceNotFoundException'
          ? `no secret ${account.secretName}: store the key first (pnpm snowflake:secret --stage <stage> --key-file <key.p8>)`
          : `could not read secret ${account.secretName} (${name}: ${(error as Error).message})`,
        { cause: error },
      );
    }
    if (secretString === undefined) throw new Error(`secret ${account.secretName} holds no SecretString`);
    key = parseKeySecret(secretString);
    identifier = account.identifier;
    baseUrl = account.url;
    from = `${key.user} of ${identifier}, key from secret ${account.secretName}`;
  } else {
    const settings = connectionSettingsFromEnv(options.env);
    key = {
      user: settings.SNOWFLAKE_USER,
      privateKey: settings.SNOWFLAKE_PRIVATE_KEY_PATH
        ? readFileSync(settings.SNOWFLAKE_PRIVATE_KEY_PATH, 'utf8')
        : settings.SNOWFLAKE_PRIVATE_KEY!,
      passphrase: settings.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE,
    };
    identifier = settings.SNOWFLAKE_ACCOUNT;
    baseUrl = `https://${identifier.toLowerCase()}.snowflakecomputing.com`;
    from = `${key.user} of ${identifier}, key from the environment`;
  }
  const auth = new JwtSource({ account: identifier, user: key.user, privateKey: key.privateKey, passphrase: key.passphrase });
  return { sql: new SqlApiClient({ ...options.client, baseUrl, auth }), from };
}
