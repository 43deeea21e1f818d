import { ConfigError, type SchemaFile } from '@snowgate/core';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** An event type as a directory name: what a producer's `type` field may hold to have a schema. */
const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const VERSION_FILE = /^([1-9][0-9]{0,8})\.json$/;

/**
 * Reads `<dir>/<type>/<version>.json`. Anything else in the directory (a file
 * at the top, a name that is not a version, JSON that does not parse) is an
 * error listing every problem: a bad schema must stop a test or a deploy, never
 * reach a running handler.
 *
 * @example
 * readSchemaDir('schemas').map((f) => `${f.type}/${f.version}`) // → ['page_view/1', 'page_view/2']
 */
export function readSchemaDir(dir: string): SchemaFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`schema directory ${dir} does not exist`);
  const files: SchemaFile[] = [];
  const problems: string[] = [];
  for (const type of readdirSync(dir).sort()) {
    const typeDir = join(dir, type);
    if (type.startsWith('.') || type === 'README.md') continue;
    if (!statSync(typeDir).isDirectory()) {
      problems.push(`${relative(process.cwd(), typeDir)}: expected a directory per event type (schemas/<type>/<version>.json)`);
      continue;
    }
    if (!TYPE_NAME.test(type)) {
      problems.push(`${relative(process.cwd(), typeDir)}: "${type}" is not a valid type name (letters, digits, "_", ".", "-"; up to 128)`);
      continue;
    }
    for (const name of readdirSync(typeDir).sort()) {
      const source = relative(process.cwd(), join(typeDir, name)) || join(typeDir, name);
      if (name.startsWith('.')) continue;
      const version = VERSION_FILE.exec(name);
      if (!version) {
        problems.push(`${source}: expected <version>.json with a positive integer version, such as 1.json`);
        continue;
      }
      let schema: unknown;
      try {
        schema = JSON.parse(readFileSync(join(typeDir, name), 'utf8'));
      } catch (error) {
        problems.push(`${source}: not valid JSON: ${(error as Error).message}`);
        continue;
      }
      files.push({ type, version: Number(version[1]), source, schema });
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid schema files:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return files;
}
