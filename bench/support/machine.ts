import os from 'node:os';

/** The machine a benchmark ran on, written beside its figures: they compare only within one machine. */
export function machineInfo() {
  return {
    node_options: process.env.NODE_OPTIONS ?? '',
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
}
