// What the app needs from a database, whichever driver is behind it (postgres.js or PGlite).
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from '../../drizzle/schema.js';

/** A Drizzle database over our schema; both drivers' databases are PgDatabase subclasses. */
export type AppDatabase = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: AppDatabase;
  driver: 'postgres' | 'pglite';
  /** Runs `SELECT 1`; rejects when the database cannot answer. */
  ping(): Promise<void>;
  /** Releases connections (postgres.js) or shuts the embedded database down (PGlite). */
  close(): Promise<void>;
}
