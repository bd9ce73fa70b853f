// Workers: postgres.js cannot keep a pool across requests (a socket belongs to the request that opened it),
// so each request that touches the database gets its own small client, closed in `waitUntil` after the
// response. Through Hyperdrive that costs no real connection setup. Migrations are not run here: apply them
// with `DATABASE_URL=… npm run db:migrate` before deploying.
import type { Sql } from 'postgres';
import { createPostgresDatabase } from './postgres.js';
import type { Database } from './types.js';

export function openRequestDatabase(connectionString: string, wrapPostgresClient?: (client: Sql) => Sql): Database {
  return createPostgresDatabase(connectionString, {
    max: 5,
    // Hyperdrive already knows the types; the lookup would cost a round trip per request.
    fetchTypes: false,
    connectTimeoutSeconds: 5,
    ...(wrapPostgresClient ? { wrapClient: wrapPostgresClient } : {}),
  });
}
