// S3 makes an object visible only once its upload is complete. s3rver's file-system store writes
// an upload straight to its final path (`<name>._S3rver_object`) and answers before a Buffer body
// reaches the file: a process killed mid-write leaves a half object (or a 0-byte one) that every
// reader takes as whole, and a half-written metadata file that fails every later listing. Here
// each object is written aside and renamed into place after its metadata, before the answer, so
// that a kill of the process at any moment leaves either no object or the whole one, as S3 does.
// Not synced to the disk: like kinesalite's writes, a power cut of the machine may lose the last
// ones (docs/TWIN.md, "What survives a crash").
// Plain JavaScript: it runs in the emulators' worker thread, which loads without the TypeScript loader.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// What s3rver keeps of a request's headers, as its own store keeps it.
import S3Object from 's3rver/lib/models/object.js';

/** Files being written; never listed (s3rver lists only `._S3rver_object` files) and swept at start. */
const PARTIAL = '.snowgate-partial';

/**
 * Replaces the store's writes with atomic ones. Kept from s3rver: the layout on disk
 * (object, `.md5`, `metadata.json` side by side), so that data dirs written before still read.
 *
 * @param {object} store s3rver's FilesystemStore
 */
export function makeWritesAtomic(store) {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const partial = join(dirname(objectPath), `.${basename(objectPath)}.${randomUUID()}${PARTIAL}`);
    await mkdir(dirname(objectPath), { recursive: true });
    try {
      const md5 = createHash('md5');
      let size = 0;
      const counted = new Transform({
        transform(chunk, _encoding, callback) {
          md5.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      const source = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      await pipeline(source, counted, createWriteStream(partial));
      const digest = md5.digest('hex');
      // Metadata first: an object is never visible without its content type and checksum.
      await putMetadata(store, object.bucket, object.key, object.metadata, digest);
      await rename(partial, objectPath);
      return { size, md5: digest };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  };
  store.putMetadata = (bucket, key, metadata, md5) => putMetadata(store, bucket, key, metadata, md5);
}

/** s3rver's metadata, each file written aside and renamed into place. */
async function putMetadata(store, bucket, key, metadata, md5) {
  const json = Object.fromEntries(
    Object.entries(metadata).filter(([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')),
  );
  if (md5) await writeAtomically(store.getResourcePath(bucket, key, 'object.md5'), md5);
  await writeAtomically(store.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
}

async function writeAtomically(path, text) {
  const partial = `${path}.${randomUUID()}${PARTIAL}`;
  await writeFile(partial, text);
  await rename(partial, path);
}

/** Removes what writes cut short by a kill left behind (never visible, never complete). */
export async function sweepPartialWrites(dir) {
  let removed = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((error) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const entry of entries) {
    if (entry.isFile() && entry.name.endsWith(PARTIAL)) {
      await rm(join(entry.parentPath ?? entry.path, entry.name), { force: true });
      removed++;
    }
  }
  return removed;
}
