import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { streamConsumerSettingsFromEnv } from '@snowgate/config';
import { JwtSource, parseKeySecret, SnowpipeStreamingClient } from '@snowgate/snowflake-api';
import { createStreamConsumerHandler } from './stream-consumer-handler';
import { createStreamDelivery } from './stream-delivery';

/**
 * Lambda entry of the stream consumer (delivery mode `streaming`, stacks/Delivery.ts). At init, once: the settings
 * (a bad one fails the cold start loudly), the key from its secret, and one REST client kept across invocations
 * (it caches the ingest host, the scoped token and the open channels' continuation tokens).
 */
const settings = streamConsumerSettingsFromEnv();
const logger = new Logger({ serviceName: 'snowgate-stream-consumer' });
const secrets = new SecretsManagerClient({});
const secret = await secrets.send(new GetSecretValueCommand({ SecretId: settings.account.secretName }));
secrets.destroy();
const key = parseKeySecret(secret.SecretString ?? '');
const client = new SnowpipeStreamingClient({
  baseUrl: settings.account.url,
  auth: new JwtSource({ account: settings.account.identifier, user: key.user, privateKey: key.privateKey, passphrase: key.passphrase }),
  database: settings.database,
  schema: settings.schema,
  pipe: settings.pipe,
});

export const handler = createStreamConsumerHandler(
  createStreamDelivery({
    channels: client,
    channelPrefix: settings.channelPrefix,
    log: (message, extra) => logger.warn(message, extra ?? {}),
  }),
);
