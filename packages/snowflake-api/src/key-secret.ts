import { loadPrivateKey, SnowflakeKeyError } from './jwt.js';

/**
 * The Secrets Manager secret that holds a Snowflake user's key pair, in the form
 * Firehose's Snowflake destination reads, so that one secret serves the deploy,
 * the streaming consumer and Firehose: a JSON `SecretString`
 * `{"user", "private_key", "key_passphrase"?}` whose `private_key` is the PKCS#8
 * key's base64 body, "without the beginning and ending private key, remove all
 * spaces and newlines".
 * https://docs.aws.amazon.com/firehose/latest/dev/secrets-manager-whats-secret.html
 */
export interface KeySecret {
  user: string;
  /** The PKCS#8 PEM (`BEGIN PRIVATE KEY`, or `BEGIN ENCRYPTED PRIVATE KEY` with `passphrase`). */
  privateKey: string;
  passphrase?: string | undefined;
}

const PKCS8_PEM = /^-----BEGIN (ENCRYPTED )?PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\s]+)-----END \1?PRIVATE KEY-----\s*$/;

/**
 * The `SecretString` for a user and a PKCS#8 PEM key. The key is checked first (it loads,
 * it is RSA, the passphrase opens it); a PKCS#1 key (`BEGIN RSA PRIVATE KEY`) is refused,
 * as Firehose wants PKCS#8. Errors never carry key material.
 *
 * @example
 * formatKeySecret({ user: 'SNOWGATE_DEPLOY', privateKey: pem }) // → '{"user":"SNOWGATE_DEPLOY","private_key":"MIIEvQIBADAN…"}'
 */
export function formatKeySecret({ user, privateKey, passphrase }: KeySecret): string {
  if (!user.trim()) throw new SnowflakeKeyError('the Snowflake user is empty');
  const pem = privateKey.trim();
  if (/^-----BEGIN RSA PRIVATE KEY-----/.test(pem)) {
    throw new SnowflakeKeyError(
      'the key is PKCS#1 (BEGIN RSA PRIVATE KEY): convert it to PKCS#8 with openssl pkcs8 -topk8 -in KEY -out KEY.p8 (add -nocrypt to keep it unencrypted)',
    );
  }
  const match = PKCS8_PEM.exec(pem);
  if (!match) throw new SnowflakeKeyError('cannot read the Snowflake private key: not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)');
  const encrypted = match[1] !== undefined;
  if (!encrypted && passphrase) throw new SnowflakeKeyError('the key is not encrypted: it takes no passphrase');
  loadPrivateKey(pem, passphrase);
  const body = match[2]!.replace(/\s+/g, '');
  return JSON.stringify({ user, private_key: body, ...(encrypted ? { key_passphrase: passphrase } : {}) });
}

/**
 * The user, PEM key and passphrase back from a `SecretString` written by {@link formatKeySecret}
 * (or by hand in Firehose's form; a full PEM in `private_key` is read too). The key is not loaded
 * here: `JwtSource` does that, and says what is wrong with it.
 *
 * @example
 * parseKeySecret(secretString) // → { user: 'SNOWGATE_DEPLOY', privateKey: '-----BEGIN PRIVATE KEY-----\nMIIEvQ…', passphrase: undefined }
 */
export function parseKeySecret(secretString: string): KeySecret {
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new SnowflakeKeyError('the Snowflake key secret is not JSON: expected {"user","private_key"}');
  }
  const { user, private_key: key, key_passphrase: passphrase } = (value ?? {}) as Record<string, unknown>;
  if (typeof user !== 'string' || !user || typeof key !== 'string' || !key) {
    throw new SnowflakeKeyError('the Snowflake key secret lacks "user" or "private_key"');
  }
  if (passphrase !== undefined && typeof passphrase !== 'string')
    throw new SnowflakeKeyError('the key secret\'s "key_passphrase" is not a string');
  if (/-----BEGIN /.test(key)) return { user, privateKey: key, passphrase };
  const body = key.replace(/\s+/g, '');
  const der = Buffer.from(body, 'base64');
  // EncryptedPrivateKeyInfo starts (after its SEQUENCE header) with a SEQUENCE, PrivateKeyInfo with its INTEGER version.
  const headerLength = (der[1] ?? 0) < 0x80 ? 2 : 2 + ((der[1] ?? 0) & 0x7f);
  const label = der[headerLength] === 0x30 ? 'ENCRYPTED PRIVATE KEY' : 'PRIVATE KEY';
  const lines = body.match(/.{1,64}/g) ?? [];
  return { user, privateKey: `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`, passphrase };
}
