// PLACEHOLDER (branch stream-stack): the stream consumer is written on branch stream-twin; this file only lets
// stacks/Delivery.ts bundle an entry point. It is replaced by that branch's file at merge: keep theirs.
export async function handler(): Promise<never> {
  throw new Error('stream consumer: not built yet');
}
