// A worker thread starts without the parent's TypeScript loader (under `pnpm start`
// as under Vitest): register tsx in this thread, then load the worker itself.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
