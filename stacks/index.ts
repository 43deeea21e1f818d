import type { App } from 'sst/constructs';
import { Alarms } from './Alarms';
import { Delivery } from './Delivery';
import { Ingest } from './Ingest';
import { Snowflake } from './Snowflake';
import { Storage } from './Storage';
import { Stream } from './Stream';
import { stageConfig } from './config';
import { suppressNagFindings } from './nag';

/** Every stack of the app, in dependency order; `sst.config.ts`, the tests and `pnpm synth` all call this. */
export function snowgate(app: App): void {
  // Outside production everything goes on `sst remove`. In production only the buckets and the stream
  // are retained (their own removal policies): the API, functions and roles must not outlive the stage.
  if (!stageConfig(app).production) app.setDefaultRemovalPolicy('destroy');
  // Snowflake after Alarms: with `snowflake.account` its integrations publish to the Alarms stack's topics.
  app.stack(Storage).stack(Stream).stack(Ingest).stack(Delivery).stack(Alarms).stack(Snowflake);
  suppressNagFindings(app);
}

export { Alarms, Delivery, Ingest, Snowflake, Storage, Stream };
