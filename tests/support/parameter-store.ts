import { DeleteParameterCommand, GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * SSM Parameter Store at the SDK boundary (nothing here reaches AWS, and no emulator
 * speaks SSM): a real `SSMClient` whose Get/Put/DeleteParameter answer from a map, as
 * SSM does: ParameterNotFound for a missing name, Put refused without Overwrite over an
 * existing one. `failWith` makes every call fail, as a denied or unreachable SSM would.
 */
export function fakeParameterStore(initial: Record<string, string> = {}) {
  const parameters = new Map(Object.entries(initial));
  const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(ssm);
  const state = { failWith: undefined as Error | undefined };
  const notFound = (name: string) => new ParameterNotFound({ message: `Parameter ${name} not found.`, $metadata: {} });
  mock.on(GetParameterCommand).callsFake(({ Name }) => {
    if (state.failWith) throw state.failWith;
    if (!parameters.has(Name)) throw notFound(Name);
    return { Parameter: { Name, Type: 'String', Value: parameters.get(Name) } };
  });
  mock.on(PutParameterCommand).callsFake(({ Name, Value, Type, Overwrite }) => {
    if (state.failWith) throw state.failWith;
    if (Type !== 'String') throw new Error(`unexpected parameter type ${Type}`);
    if (parameters.has(Name) && !Overwrite)
      throw Object.assign(new Error('The parameter already exists.'), { name: 'ParameterAlreadyExists' });
    parameters.set(Name, Value);
    return { Version: 1 };
  });
  mock.on(DeleteParameterCommand).callsFake(({ Name }) => {
    if (state.failWith) throw state.failWith;
    if (!parameters.delete(Name)) throw notFound(Name);
    return {};
  });
  return { ssm, parameters, state };
}
