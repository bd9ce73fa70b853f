// Node: the database the configuration asks for, with every migration applied before it is used —
// PostgreSQL (postgres.js) when DATABASE_URL is set, else embedded PGlite in PGLITE_DIR.
import type { PGlite } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import type { Config } from '../config.js';
import { migratePgliteDatabase, migratePostgresDatabase } from './migrate.js';
import { createPgliteDatabase } from './pglite.js';
import { createPostgresDatabase } from './postgres.js';
import type { Database } from './types.js';

export interface OpenDatabaseOptions {
  /** Decorate the raw client (e.g. to time queries) — see createPostgresClient / createPgliteClient. */
  wrapPostgresClient?: (client: Sql) => Sql;
  wrapPgliteClient?: (client: PGlite) => PGlite;
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'pgliteDir'>,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  if (config.databaseUrl) {
    await migratePostgresDatabase(config.databaseUrl, options.wrapPostgresClient);
    return createPostgresDatabase(config.databaseUrl, options.wrapPostgresClient ? { wrapClient: options.wrapPostgresClient } : {});
  }
  const database = await createPgliteDatabase(config.pgliteDir, options.wrapPgliteClient ? { wrapClient: options.wrapPgliteClient } : {});
  try {
    await migratePgliteDatabase(database.client);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}
