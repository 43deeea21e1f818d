/** Replaces an s3rver FilesystemStore's writes with atomic ones (see s3rver-atomic.mjs). */
export function makeWritesAtomic(store: unknown): void;
/** Removes what writes cut short by a kill left behind; resolves with how many. */
export function sweepPartialWrites(dir: string): Promise<number>;
