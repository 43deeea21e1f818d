import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * AWS Secrets Manager at the SDK boundary (nothing here reaches AWS, and no emulator
 * the tests run speaks it): a real `SecretsManagerClient` whose CreateSecret,
 * PutSecretValue and GetSecretValue answer from a map of secret name → versions, as
 * Secrets Manager does: ResourceNotFoundException for a missing secret,
 * ResourceExistsException for a second CreateSecret. `failWith` makes every call fail,
 * as a denied or unreachable service would.
 */
export function fakeSecretsManager(initial: Record<string, string> = {}) {
  const secrets = new Map(Object.entries(initial).map(([name, value]) => [name, [value]]));
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(client);
  const state = { failWith: undefined as Error | undefined };
  const notFound = () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
  mock.on(GetSecretValueCommand).callsFake(({ SecretId }) => {
    if (state.failWith) throw state.failWith;
    const versions = secrets.get(SecretId);
    if (!versions) throw notFound();
    return { Name: SecretId, SecretString: versions.at(-1) };
  });
  mock.on(PutSecretValueCommand).callsFake(({ SecretId, SecretString }) => {
    if (state.failWith) throw state.failWith;
    const versions = secrets.get(SecretId);
    if (!versions) throw notFound();
    if (typeof SecretString !== 'string') throw new Error('expected a SecretString');
    versions.push(SecretString);
    return { Name: SecretId, VersionId: `v${versions.length}` };
  });
  mock.on(CreateSecretCommand).callsFake(({ Name, SecretString }) => {
    if (state.failWith) throw state.failWith;
    if (secrets.has(Name))
      throw new ResourceExistsException({ message: `The operation failed because the secret ${Name} already exists.`, $metadata: {} });
    if (typeof SecretString !== 'string') throw new Error('expected a SecretString');
    secrets.set(Name, [SecretString]);
    return { Name, VersionId: 'v1' };
  });
  return { client, secrets, mock, state };
}
