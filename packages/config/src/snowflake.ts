import { ConfigError } from '@snowgate/core';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { Env } from './env';
import { formatZodError } from './format';

/**
 * The Snowflake connection's environment (`pnpm snowflake:apply`). A separate
 * entry of the config package: it checks that the key file exists (node:fs).
 */

/**
 * How the tool signs in: key-pair authentication only (no passwords in the environment).
 * https://docs.snowflake.com/en/user-guide/key-pair-auth
 */
export const connectionSettingsSchema = z
  .object({
    /** The account identifier, e.g. `myorg-myaccount`. */
    SNOWFLAKE_ACCOUNT: z
      .string({ error: 'required: the account identifier, e.g. myorg-myaccount' })
      .regex(/^[A-Za-z0-9._-]+$/, 'an account identifier such as myorg-myaccount'),
    SNOWFLAKE_USER: z.string({ error: 'required: the user the public key is registered to (ALTER USER … SET RSA_PUBLIC_KEY)' }).min(1),
    /** A PKCS#8 PEM file… */
    SNOWFLAKE_PRIVATE_KEY_PATH: z.string().min(1).optional(),
    /** …or the PEM itself (for CI secrets). */
    SNOWFLAKE_PRIVATE_KEY: z
      .string()
      // CI secrets often carry the PEM on one line with literal "\n": the driver wants real line breaks.
      .transform((pem) => pem.replace(/\\n/g, '\n').trim())
      .refine((pem) => /^-----BEGIN ((?:ENCRYPTED |RSA )?PRIVATE KEY)-----\n[\s\S]+\n-----END \1-----$/.test(pem), {
        message: 'a PEM private key (-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----), as the driver accepts',
      })
      .optional(),
    /** Only for an encrypted key. */
    SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: z.string().min(1).optional(),
  })
  .refine((s) => !!s.SNOWFLAKE_PRIVATE_KEY_PATH !== !!s.SNOWFLAKE_PRIVATE_KEY, {
    message: 'set exactly one of SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY',
    path: ['SNOWFLAKE_PRIVATE_KEY_PATH'],
  })
  .refine((s) => !s.SNOWFLAKE_PRIVATE_KEY_PATH || existsSync(s.SNOWFLAKE_PRIVATE_KEY_PATH), {
    message: 'no such file',
    path: ['SNOWFLAKE_PRIVATE_KEY_PATH'],
  });
export type ConnectionSettings = z.infer<typeof connectionSettingsSchema>;

/** Reads and validates the connection settings, listing every problem at once. */
export function connectionSettingsFromEnv(env: Env = process.env): ConnectionSettings {
  const relevant = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('SNOWFLAKE_') && v !== ''));
  const result = connectionSettingsSchema.safeParse(relevant);
  if (!result.success) {
    const problems = formatZodError(result.error, { root: '(settings)' }).split('\n');
    // zod skips the object's refinements while a field is wrong: say the key is missing anyway.
    if (!relevant.SNOWFLAKE_PRIVATE_KEY_PATH && !relevant.SNOWFLAKE_PRIVATE_KEY && !problems.some((p) => p.includes('PRIVATE_KEY'))) {
      problems.push('  - SNOWFLAKE_PRIVATE_KEY_PATH: set exactly one of SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY');
    }
    throw new ConfigError(`cannot connect to Snowflake; set these in the environment (key-pair authentication):\n${problems.join('\n')}`);
  }
  return result.data;
}
