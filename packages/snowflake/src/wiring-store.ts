import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { snowflakeWiringParameter, type SnowflakeWiring } from '@snowgate/config';

/** Where a stage's Snowflake wiring is kept between `pnpm snowflake:apply` and every deploy. */
export interface WiringStore {
  /** The stored wiring, or undefined when none is (before the first apply, after a remove). */
  read(stage: string): Promise<SnowflakeWiring | undefined>;
  write(stage: string, wiring: SnowflakeWiring): Promise<void>;
  /** Forgets it; nothing stored is not an error. */
  remove(stage: string): Promise<void>;
}

const notFound = (error: unknown) => (error as Error).name === 'ParameterNotFound';

/**
 * The wiring in SSM Parameter Store (`/snowgate/<stage>/snowflake/wiring`, a `String`
 * parameter: two ARNs, nothing secret). A failed read is an error, never "nothing
 * stored": a deploy that guessed would unlink Snowpipe.
 */
export function ssmWiringStore(ssm: SSMClient): WiringStore {
  return {
    async read(stage) {
      const name = snowflakeWiringParameter(stage);
      let value: string | undefined;
      try {
        value = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
      } catch (error) {
        if (notFound(error)) return undefined;
        throw new Error(
          `cannot read ${name} from Parameter Store (${(error as Error).name}: ${(error as Error).message}): without it a deploy could unlink Snowpipe, so it stops here; check the credentials and region (ssm:GetParameter on that name)`,
          { cause: error },
        );
      }
      try {
        const parsed = JSON.parse(value ?? '') as Partial<SnowflakeWiring>;
        if (typeof parsed.iamUserArn === 'string' && typeof parsed.notificationChannelArn === 'string') {
          return {
            iamUserArn: parsed.iamUserArn,
            notificationChannelArn: parsed.notificationChannelArn,
            ...(typeof parsed.alertExternalId === 'string' ? { alertExternalId: parsed.alertExternalId } : {}),
            ...(typeof parsed.errorExternalId === 'string' ? { errorExternalId: parsed.errorExternalId } : {}),
          };
        }
      } catch {
        // reported below
      }
      throw new Error(
        `${name} holds ${JSON.stringify(value)}, not {"iamUserArn","notificationChannelArn"}: run pnpm snowflake:apply --stage ${stage} again`,
      );
    },
    async write(stage, wiring) {
      await ssm.send(
        new PutParameterCommand({
          Name: snowflakeWiringParameter(stage),
          Value: JSON.stringify({
            iamUserArn: wiring.iamUserArn,
            notificationChannelArn: wiring.notificationChannelArn,
            ...(wiring.alertExternalId ? { alertExternalId: wiring.alertExternalId } : {}),
            ...(wiring.errorExternalId ? { errorExternalId: wiring.errorExternalId } : {}),
          }),
          Type: 'String',
          Overwrite: true,
          Description: `Snowgate ${stage}: Snowflake's IAM user, the pipe's queue and the alert integration's external ID, written by pnpm snowflake:apply, read by every deploy`,
        }),
      );
    },
    async remove(stage) {
      try {
        await ssm.send(new DeleteParameterCommand({ Name: snowflakeWiringParameter(stage) }));
      } catch (error) {
        if (!notFound(error)) throw error;
      }
    },
  };
}
