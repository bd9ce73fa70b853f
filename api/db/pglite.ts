// Embedded PostgreSQL (PGlite, WebAssembly) for `npm start` without DATABASE_URL and for fast tests.
// `createPgliteClient` is the one place the raw client is created: wrap it via `wrapClient`.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import * as schema from '../../drizzle/schema.js';
import { lockDataDir } from './data-dir-lock.js';
import type { AppDatabase, Database } from './types.js';

export interface PgliteOptions {
  wrapClient?: (client: PGlite) => PGlite;
}

/** `dir` is a data folder (created if missing) or `memory://` for a throwaway database. */
export async function createPgliteClient(dir: string): Promise<PGlite> {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  return await PGlite.create(dir);
}

export async function createPgliteDatabase(dir: string, options: PgliteOptions = {}): Promise<Database & { client: PGlite }> {
  const inMemory = dir.startsWith('memory://');
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const unlock = inMemory ? () => {} : lockDataDir(dir);
  let raw: PGlite;
  try {
    raw = await createPgliteClient(dir);
  } catch (error) {
    unlock();
    throw error;
  }
  const client = options.wrapClient ? options.wrapClient(raw) : raw;
  const db = drizzle(client, { schema }) as unknown as AppDatabase;
  return {
    db,
    client,
    driver: 'pglite',
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      if (!raw.closed) await raw.close();
      unlock();
    },
  };
}
