/**
 * `NODE_OPTIONS` for the ingest Lambda (the stack sets it; the handler
 * benchmark runs under it). The SDK allocates about 110 KB per call, so with
 * V8's default 16 MiB semi-space about one invocation in ninety pays a ~2 ms
 * scavenge: exactly the p99. A 32 MiB semi-space halves how often that happens
 * and brings single-record p99 from ~2.2 ms to ~0.75 ms (docs/BENCHMARKS.md).
 */
export const INGEST_NODE_OPTIONS = '--max-semi-space-size=32';
