import { SSMClient } from '@aws-sdk/client-ssm';
import { cachedApiKeyStore, ConfigError } from '@snowgate/core';
import { z } from 'zod';
import { createApiKeyAuthorizer } from './api-key-authorizer';
import { ssmApiKeyStore } from './api-key-store';

/** Lambda entry point of the API-key authorizer; its settings are validated at init. */
const settings = z
  .object({
    SNOWGATE_API_KEYS_PREFIX: z.string().regex(/^\/[\w./-]+\/$/),
    SNOWGATE_API_KEY_HEADER: z.string().regex(/^[a-z0-9-]{1,64}$/),
    /** How long a record (or its absence) is kept in memory. */
    SNOWGATE_API_KEYS_CACHE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(60),
  })
  .safeParse(process.env);
if (!settings.success) throw new ConfigError(`invalid authorizer settings: ${settings.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);

const store = cachedApiKeyStore(ssmApiKeyStore(new SSMClient({}), settings.data.SNOWGATE_API_KEYS_PREFIX), settings.data.SNOWGATE_API_KEYS_CACHE_SECONDS * 1_000);
export const handler = createApiKeyAuthorizer({ store, header: settings.data.SNOWGATE_API_KEY_HEADER });
