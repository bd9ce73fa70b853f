// `npm run db:migrate`: applies drizzle/migrations to DATABASE_URL (or to the PGlite folder PGLITE_DIR
// when DATABASE_URL is unset). Node applies them at start anyway; Workers do not, so run this before
// deploying the Worker.
import { ConfigError } from '../../pushgateway/config/env.js';
import { loadConfig } from '../config.js';
import { migratePgliteDatabase, migratePostgresDatabase } from './migrate.js';
import { createPgliteDatabase } from './pglite.js';

try {
  const config = loadConfig(process.env);
  if (config.databaseUrl) {
    await migratePostgresDatabase(config.databaseUrl);
    console.log('migrations applied to DATABASE_URL');
  } else {
    const database = await createPgliteDatabase(config.pgliteDir);
    try {
      await migratePgliteDatabase(database.client);
    } finally {
      await database.close();
    }
    console.log(`migrations applied to PGlite in ${config.pgliteDir}`);
  }
} catch (error) {
  console.error(
    error instanceof ConfigError ? error.message : `migration failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exitCode = 1;
}
