import type { StageConfig } from '@snowgate/config';
import { startTwin, type Twin, type TwinOptionsInput } from '@snowgate/twin';
import { afterAll, beforeAll } from 'vitest';
import { QUIET, removeDir, tempDataDir } from './support';

/**
 * An in-process twin for the tests of one `describe`: started on free ports and a
 * temporary data dir before them, stopped (drained) and its data dir removed after.
 */
export function useTwin(
  stage: StageConfig,
  options: Omit<TwinOptionsInput, 'dataDir' | 'port'> = {},
): { readonly twin: Twin; readonly dataDir: string } {
  const state = {} as { twin: Twin; dataDir: string };
  beforeAll(async () => {
    state.dataDir = tempDataDir();
    state.twin = await startTwin({ port: 0, dataDir: state.dataDir, ...QUIET, ...options }, stage);
  });
  afterAll(async () => {
    await state.twin?.stop();
    if (state.dataDir) removeDir(state.dataDir);
  });
  return state;
}
