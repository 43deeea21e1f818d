import { parseStageConfig } from '@snowgate/config';
import { KeySecretInputError, storeKeySecret } from '@snowgate/snowflake';
import { JwtSource, parseKeySecret, publicKeyFingerprint } from '@snowgate/snowflake-api';
import { fakeSecretsManager } from '../support/secrets-manager';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// pnpm snowflake:secret: the key checked, stored in Firehose's form, and never shown.
// Secrets Manager is faked at the SDK boundary (tests/support/secrets-manager.ts).

const SECRET = 'snowgate/dev/snowflake';
const config = parseStageConfig({
  snowflake: { externalId: 'snowgate-dev', account: { identifier: 'myorg-myaccount', secretName: SECRET } },
});
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const fingerprint = publicKeyFingerprint(rsa.publicKey);
const encryptedPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }) as string;
const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const pkcs1Pem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;

/** Every 24-character run of a PEM's body: none may appear in anything shown. */
const keyChunks = (text: string) => {
  const body = text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Array.from({ length: Math.floor(body.length / 24) }, (_, i) => body.slice(i * 24, i * 24 + 24));
};
const expectNoKeyMaterial = (shown: string, ...keys: string[]) => {
  for (const key of keys) for (const chunk of keyChunks(key)) expect(shown.includes(chunk), 'key material shown').toBe(false);
  expect(shown).not.toMatch(/-----BEGIN|open sesame/);
};

function run(options: Partial<Parameters<typeof storeKeySecret>[0]> & { secrets?: Record<string, string>; failWith?: Error } = {}) {
  const fake = fakeSecretsManager(options.secrets);
  fake.state.failWith = options.failWith;
  const printed: string[] = [];
  const result = storeKeySecret({
    stage: 'dev',
    config,
    privateKey: pem,
    secretsManager: fake.client,
    print: (line) => printed.push(line),
    ...options,
  });
  return { fake, printed, result };
}

describe('storeKeySecret', () => {
  it('creates the secret as {"user","private_key"}, the key in Firehose\'s form, and prints only its name and the fingerprint', async () => {
    const { fake, printed, result } = run({ user: 'SNOWGATE_DEPLOY' });
    expect(await result).toEqual({ secretName: SECRET, action: 'created', fingerprint, user: 'SNOWGATE_DEPLOY' });
    const [stored] = fake.secrets.get(SECRET)!;
    const value = JSON.parse(stored!) as Record<string, string>;
    expect(Object.keys(value)).toEqual(['user', 'private_key']);
    expect(value.user).toBe('SNOWGATE_DEPLOY');
    // "without the beginning and ending private key, remove all spaces and newlines" (Firehose's Snowflake secret)
    expect(value.private_key).toMatch(/^MII[A-Za-z0-9+/]+=*$/);
    // Read back, it signs a JWT for the same public key.
    const credentials = parseKeySecret(stored!);
    expect(publicKeyFingerprint(createPublicKey(credentials.privateKey))).toBe(fingerprint);
    const token = new JwtSource({ account: 'myorg-myaccount', ...credentials }).token();
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).iss).toBe(
      `MYORG-MYACCOUNT.SNOWGATE_DEPLOY.${fingerprint}`,
    );
    expect(printed).toEqual([
      `stored secret ${SECRET} (created): user SNOWGATE_DEPLOY, public key ${fingerprint}`,
      `check: DESC USER SNOWGATE_DEPLOY shows RSA_PUBLIC_KEY_FP = ${fingerprint} (or RSA_PUBLIC_KEY_2_FP during a rotation)`,
    ]);
    expectNoKeyMaterial(printed.join('\n'), pem);
  });

  it('puts a new version of an existing secret, keeping its user when --user is not given', async () => {
    const old = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const { fake, printed, result } = run({
      secrets: { [SECRET]: JSON.stringify({ user: 'LOADER', private_key: old.replace(/-----[A-Z ]+-----|\s/g, '') }) },
    });
    expect(await result).toMatchObject({ action: 'updated', user: 'LOADER', fingerprint });
    const versions = fake.secrets.get(SECRET)!;
    expect(versions).toHaveLength(2);
    expect(parseKeySecret(versions[1]!).user).toBe('LOADER');
    expect(publicKeyFingerprint(createPublicKey(parseKeySecret(versions[1]!).privateKey))).toBe(fingerprint);
    expect(printed[0]).toBe(`stored secret ${SECRET} (new version): user LOADER, public key ${fingerprint}`);
    expectNoKeyMaterial(printed.join('\n'), pem, old);
  });

  it('stores an encrypted key with its passphrase, and reads it back', async () => {
    const { fake, result } = run({ user: 'SNOWGATE_DEPLOY', privateKey: encryptedPem, passphrase: 'open sesame' });
    expect(await result).toMatchObject({ action: 'created', fingerprint });
    const stored = fake.secrets.get(SECRET)![0]!;
    expect(JSON.parse(stored)).toMatchObject({ user: 'SNOWGATE_DEPLOY', key_passphrase: 'open sesame' });
    const credentials = parseKeySecret(stored);
    expect(credentials.privateKey).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(() => new JwtSource({ account: 'myorg-myaccount', ...credentials })).not.toThrow();
  });

  it('on a dry run, checks the key and prints its fingerprint without calling Secrets Manager', async () => {
    const { fake, printed, result } = run({ user: 'SNOWGATE_DEPLOY', dryRun: true });
    expect(await result).toMatchObject({ action: 'dry-run', fingerprint });
    expect(fake.mock.calls()).toHaveLength(0);
    expect(printed).toEqual([
      `would store the key in secret ${SECRET} (created, or a new version): user SNOWGATE_DEPLOY, public key ${fingerprint}`,
    ]);
  });

  it.each([
    ['not a key', 'hello', /not a PKCS#8 PEM private key/],
    ['a non-RSA key', ecPem, /must be RSA, not ec/],
    ['an encrypted key without its passphrase', encryptedPem, /the key is encrypted: give its passphrase \(--passphrase-env VAR\)/],
    ['a PKCS#1 key', pkcs1Pem, /PKCS#1 .*openssl pkcs8 -topk8/],
  ])('refuses %s in one line, before any call, with no key material', async (_, privateKey, message) => {
    const { fake, result } = run({ user: 'SNOWGATE_DEPLOY', privateKey });
    const error = await result.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(KeySecretInputError);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toContain('\n');
    expectNoKeyMaterial(`${error!.message}\n${error!.stack}`, privateKey, pem);
    expect(fake.mock.calls()).toHaveLength(0);
  });

  it('refuses a wrong passphrase, a passphrase for a key that has none, and a stage without snowflake.account', async () => {
    await expect(run({ user: 'U', privateKey: encryptedPem, passphrase: 'wrong' }).result).rejects.toThrow(
      /the passphrase does not open the key/,
    );
    await expect(run({ user: 'U', passphrase: 'open sesame' }).result).rejects.toThrow(/the key is not encrypted: it takes no passphrase/);
    await expect(run({ user: 'U', config: parseStageConfig({ snowflake: { externalId: 'x1' } }) }).result).rejects.toThrow(
      new KeySecretInputError(
        'config/dev.json has no snowflake.account: set snowflake.account.identifier and secretName (see config/snowflake.example.json)',
      ),
    );
  });

  it('without --user, a secret that does not exist yet is refused, asking for the user', async () => {
    const { fake, result } = run();
    await expect(result).rejects.toThrow(
      new KeySecretInputError(`secret ${SECRET} does not exist yet: give the Snowflake user with --user`),
    );
    expect(fake.secrets.size).toBe(0);
  });

  it("a failed call names the secret and AWS's reason, and carries no key material", async () => {
    const failWith = Object.assign(new Error('User is not authorized to perform: secretsmanager:PutSecretValue'), {
      name: 'AccessDeniedException',
    });
    const { result } = run({ user: 'SNOWGATE_DEPLOY', secrets: { [SECRET]: '{}' }, failWith });
    const error = await result.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toBe(
      `cannot store secret ${SECRET}: AccessDeniedException: User is not authorized to perform: secretsmanager:PutSecretValue`,
    );
    expectNoKeyMaterial(`${error!.message}\n${error!.stack}`, pem);
  });
});

describe('parseKeySecret', () => {
  it('reads a full PEM written by hand too, and refuses a secret without user or key, never echoing it', () => {
    expect(parseKeySecret(JSON.stringify({ user: 'U', private_key: pem })).privateKey).toBe(pem);
    for (const secret of ['not json', JSON.stringify({ private_key: pem }), JSON.stringify({ user: 'U' })]) {
      const error = (() => {
        try {
          parseKeySecret(secret);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error?.message, secret.slice(0, 20)).toMatch(/not JSON|lacks "user" or "private_key"/);
      expectNoKeyMaterial(error!.message, pem);
    }
  });
});

describe('pnpm snowflake:secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snowgate-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const root = new URL('../../', import.meta.url).pathname;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const cli = (args: string[], env: Record<string, string> = {}) =>
    promisify(execFile)('pnpm', ['-s', 'snowflake:secret', ...args], {
      cwd: root,
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
      timeout: 60_000,
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  const stage = ['--stage', 'snowflake.example'];

  it('checks a key on a dry run and prints the secret and the fingerprint only', { timeout: 60_000 }, async () => {
    const out = await cli([...stage, '--key-file', file('k.p8', pem), '--user', 'SNOWGATE_DEPLOY', '--dry-run']);
    expect(out).toEqual({
      code: 0,
      stdout: `would store the key in secret snowgate/dev/snowflake (created, or a new version): user SNOWGATE_DEPLOY, public key ${fingerprint}\n`,
      stderr: '',
    });
  });

  it('refuses a bad key, a missing passphrase variable and a stage without an account in one line, exit 2, no key shown', {
    timeout: 120_000,
  }, async () => {
    const cases: [string[], RegExp][] = [
      [[...stage, '--key-file', file('ec.p8', ecPem), '--dry-run'], /must be RSA, not ec/],
      [[...stage, '--key-file', file('enc.p8', encryptedPem), '--dry-run'], /the key is encrypted: give its passphrase/],
      [[...stage, '--key-file', file('enc.p8', encryptedPem), '--passphrase-env', 'SNOWGATE_TEST_NO_SUCH_VAR', '--dry-run'], /not set/],
      [['--stage', 'prod.example', '--key-file', file('k.p8', pem), '--dry-run'], /has no snowflake\.account/],
      [[...stage, '--key-file', join(dir, 'missing.p8')], /no such file/],
    ];
    for (const [args, message] of cases) {
      const out = await cli(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stdout).toBe('');
      expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
      expectNoKeyMaterial(out.stderr, pem, ecPem, encryptedPem);
    }
    const opened = await cli([...stage, '--key-file', join(dir, 'enc.p8'), '--passphrase-env', 'PASS', '--dry-run'], {
      PASS: 'open sesame',
    });
    expect(opened.code).toBe(0);
    expect(opened.stdout).toContain(fingerprint);
    expectNoKeyMaterial(opened.stdout + opened.stderr, pem, encryptedPem);
  });
});
