import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What a fix is told about the record it is given. */
export interface FixContext {
  /** The record's text as quarantined (undefined when it could not be recovered). */
  raw: string | undefined;
  /** Why it was quarantined. */
  reason: string;
  index: number;
  requestId: string;
  receivedAt: string;
  /** The quarantine object's key. */
  object: string;
}

/**
 * A user's fix: given the quarantined record (parsed; `undefined` when its text
 * is not JSON, which `context.raw` still holds), returns the record to send,
 * or `null` to leave it out of this replay. May be async.
 */
export type FixFunction = (record: unknown, context: FixContext) => unknown;

export class FixModuleError extends Error {
  override readonly name = 'FixModuleError';
}

/**
 * Loads a fix module (JavaScript or TypeScript: replay runs under tsx) whose
 * default export, or export named `fix`, is the function.
 *
 * @example
 * // fixes/rename-uid.ts
 * export default (record: any) => (record && { ...record, id: record.uid });
 */
export async function loadFix(path: string): Promise<{ fix: FixFunction; name: string }> {
  const file = resolve(path);
  if (!existsSync(file)) throw new FixModuleError(`fix module ${path} does not exist`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new FixModuleError(`fix module ${path} failed to load: ${(error as Error).message}`, { cause: error });
  }
  // A CommonJS module arrives as { default: module.exports }.
  const candidate = module.default ?? module.fix;
  const fix =
    typeof candidate === 'function'
      ? candidate
      : ((candidate as { default?: unknown; fix?: unknown } | undefined)?.default ?? (candidate as { fix?: unknown } | undefined)?.fix);
  if (typeof fix !== 'function') {
    throw new FixModuleError(
      `fix module ${path} must export a function (record, context) => record | null, as its default export or as "fix"; it exports ${Object.keys(module).join(', ') || 'nothing'}`,
    );
  }
  return { fix: fix as FixFunction, name: path };
}
