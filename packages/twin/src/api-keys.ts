import { API_KEY_ID, apiKeyRecordSchema, type ApiKeyRecord, type ApiKeyStore } from '@snowgate/core';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonDurably } from './durable-file';

/** Where the twin keeps its API key records: the same records SSM holds for a deployed stage, one file each. */
export function apiKeysDir(dataDir: string): string {
  return join(dataDir, 'api-keys');
}

/** The twin's key store, under its data dir. Key ids are checked against `API_KEY_ID`, so no path escapes the directory. */
export function fileApiKeyStore(dataDir: string): ApiKeyStore {
  const dir = apiKeysDir(dataDir);
  return {
    async get(keyId) {
      if (!API_KEY_ID.test(keyId)) return undefined;
      const value = readJson<unknown>(join(dir, `${keyId}.json`));
      return value === undefined ? undefined : apiKeyRecordSchema.parse(value);
    },
    async put(record: ApiKeyRecord) {
      mkdirSync(dir, { recursive: true });
      writeJsonDurably(join(dir, `${record.key_id}.json`), apiKeyRecordSchema.parse(record), 2);
    },
    async list() {
      let names: string[];
      try {
        names = readdirSync(dir).filter((n) => n.endsWith('.json') && API_KEY_ID.test(n.slice(0, -5)));
      } catch {
        return [];
      }
      return names.map((n) => apiKeyRecordSchema.parse(readJson<unknown>(join(dir, n))));
    },
  };
}
