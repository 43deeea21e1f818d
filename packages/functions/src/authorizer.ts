import { SSMClient } from '@aws-sdk/client-ssm';
import { authorizerSettingsFromEnv } from '@snowgate/config';
import { cachedApiKeyStore } from '@snowgate/core';
import { createApiKeyAuthorizer } from './api-key-authorizer';
import { ssmApiKeyStore } from './api-key-store';

/** Lambda entry point of the API-key authorizer; its settings are validated at init. */
const settings = authorizerSettingsFromEnv();

const store = cachedApiKeyStore(
  ssmApiKeyStore(new SSMClient({}), settings.SNOWGATE_API_KEYS_PREFIX),
  settings.SNOWGATE_API_KEYS_CACHE_SECONDS * 1_000,
);
export const handler = createApiKeyAuthorizer({ store, header: settings.SNOWGATE_API_KEY_HEADER });
