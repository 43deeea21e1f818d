import type { App } from 'sst/constructs';
import { Alarms } from './Alarms';
import { Ingest } from './Ingest';
import { Snowflake } from './Snowflake';
import { Storage } from './Storage';
import { Stream } from './Stream';
import { stageConfig } from './config';
import { suppressNagFindings } from './nag';

/** Every stack of the app, in dependency order; `sst.config.ts`, the tests and `pnpm synth` all call this. */
export function snowgate(app: App): void {
  app.setDefaultRemovalPolicy(stageConfig(app).production ? 'retain' : 'destroy');
  app.stack(Storage).stack(Stream).stack(Ingest).stack(Snowflake).stack(Alarms);
  suppressNagFindings(app);
}

export { Alarms, Ingest, Snowflake, Storage, Stream };
