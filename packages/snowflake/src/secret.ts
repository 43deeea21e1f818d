import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { StageConfig } from '@snowgate/config';
import { formatKeySecret, loadPrivateKey, parseKeySecret, publicKeyFingerprint, SnowflakeKeyError } from '@snowgate/snowflake-api';

/** The key file, the user or the stage config cannot make a secret: bad input, said in one line. */
export class KeySecretInputError extends Error {
  override name = 'KeySecretInputError';
}

export interface StoreKeySecretOptions {
  stage: string;
  config: StageConfig;
  /** The PKCS#8 PEM, as read from the key file. */
  privateKey: string;
  passphrase?: string | undefined;
  /** The Snowflake user; absent: the user the secret already holds. */
  user?: string | undefined;
  secretsManager: SecretsManagerClient;
  /** Check the key and the config, print what would be stored; no call to Secrets Manager. */
  dryRun?: boolean;
  print: (line: string) => void;
}

export interface StoredKeySecret {
  secretName: string;
  /** `created`, a new version `updated`, or `dry-run`. */
  action: 'created' | 'updated' | 'dry-run';
  /** The public key's fingerprint, as `DESC USER` shows it (`RSA_PUBLIC_KEY_FP`). */
  fingerprint: string;
  user: string | undefined;
}

const notFound = (error: unknown) => (error as Error).name === 'ResourceNotFoundException';
/** An AWS error in one line: its name and message (neither ever holds the request's SecretString). */
const awsReason = (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`;

/**
 * Stores a Snowflake user's key pair as the SecretString of the stage's secret
 * (`snowflake.account.secretName`): created, or a new version put when it exists.
 * The key is checked first (PKCS#8, RSA, the passphrase opens it) and only its
 * fingerprint is printed; nothing here prints, logs or throws key material.
 *
 * @example
 * await storeKeySecret({ stage: 'dev', config, privateKey: pem, user: 'SNOWGATE_DEPLOY', secretsManager, print: console.log })
 * // stored secret snowgate/dev/snowflake (created): user SNOWGATE_DEPLOY, public key SHA256:…
 */
export async function storeKeySecret(options: StoreKeySecretOptions): Promise<StoredKeySecret> {
  const { stage, config, privateKey, passphrase, secretsManager, print } = options;
  const account = config.snowflake.account;
  if (!account) {
    throw new KeySecretInputError(
      `config/${stage}.json has no snowflake.account: set snowflake.account.identifier and secretName (see config/snowflake.example.json)`,
    );
  }
  const secretName = account.secretName;
  let user = options.user?.trim();
  if (options.user !== undefined && !user) throw new KeySecretInputError('--user is empty');
  let fingerprint: string;
  try {
    // A user placeholder: the key is checked before anything is asked of Secrets Manager.
    formatKeySecret({ user: user ?? '-', privateKey, passphrase });
    fingerprint = publicKeyFingerprint(loadPrivateKey(privateKey.trim(), passphrase));
  } catch (error) {
    if (!(error instanceof SnowflakeKeyError)) throw error;
    const message = error.message.replace(/give its passphrase$/, 'give its passphrase (--passphrase-env VAR)');
    throw new KeySecretInputError(message);
  }
  if (options.dryRun) {
    print(
      `would store the key in secret ${secretName} (created, or a new version): user ${user ?? '(the one the secret holds)'}, public key ${fingerprint}`,
    );
    return { secretName, action: 'dry-run', fingerprint, user };
  }
  if (!user) {
    try {
      const current = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretName }));
      user = parseKeySecret(current.SecretString ?? '').user;
    } catch (error) {
      if (notFound(error)) throw new KeySecretInputError(`secret ${secretName} does not exist yet: give the Snowflake user with --user`);
      if (error instanceof SnowflakeKeyError)
        throw new KeySecretInputError(`secret ${secretName} holds no user (${error.message}): give it with --user`);
      throw new Error(`cannot read secret ${secretName} for its user (${awsReason(error)}): give the user with --user`, { cause: error });
    }
  }
  const secretString = formatKeySecret({ user, privateKey, passphrase });
  let action: StoredKeySecret['action'];
  try {
    await secretsManager.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: secretString }));
    action = 'updated';
  } catch (error) {
    if (!notFound(error)) throw new Error(`cannot store secret ${secretName}: ${awsReason(error)}`, { cause: error });
    try {
      await secretsManager.send(
        new CreateSecretCommand({
          Name: secretName,
          SecretString: secretString,
          Description: `Snowgate stage ${stage}: the Snowflake user and private key the deploy signs in with (pnpm snowflake:secret)`,
        }),
      );
      action = 'created';
    } catch (createError) {
      throw new Error(`cannot create secret ${secretName}: ${awsReason(createError)}`, { cause: createError });
    }
  }
  print(`stored secret ${secretName} (${action === 'created' ? 'created' : 'new version'}): user ${user}, public key ${fingerprint}`);
  print(`check: DESC USER ${user} shows RSA_PUBLIC_KEY_FP = ${fingerprint} (or RSA_PUBLIC_KEY_2_FP during a rotation)`);
  return { secretName, action, fingerprint, user };
}
