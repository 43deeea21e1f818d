/**
 * A monthly cost model of one Snowgate stage: what a steady load of events
 * costs on AWS and in Snowpipe, service by service. Pure arithmetic over list
 * prices; `pnpm cost` prints it and docs/COST.md explains the method.
 *
 * A month is 30 days. A GB is 2^30 bytes and a KB 1,024 bytes, as AWS
 * defines them on the Kinesis pricing page.
 *
 * Its parts, one job each: the list prices (`prices.ts`), how services meter
 * (`units.ts`), what Snowgate itself assumes (`assumptions.ts`), the validated
 * input (`input.ts`), the load model's building blocks (`load.ts`) and the bill
 * (`model.ts`). `pnpm cost` (cli/cost.ts) renders it.
 */

export * from './prices';
export * from './units';
export * from './assumptions';
export * from './input';
export * from './load';
export * from './model';
