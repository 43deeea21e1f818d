import type { StageConfig } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';

const configs = new WeakMap<object, StageConfig>();

/** Sets the configuration an app's stacks are built with (tests and `pnpm synth` use it; `sst deploy` loads the files). */
export function configureStage(app: object, config: StageConfig): void {
  configs.set(app, config);
}

/** The configuration of the app's stage, loaded once. */
export function stageConfig(app: { stage: string }): StageConfig {
  let config = configs.get(app);
  if (!config) {
    config = loadStageConfig(app.stage);
    configs.set(app, config);
  }
  return config;
}
