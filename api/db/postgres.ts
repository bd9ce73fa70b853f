// PostgreSQL through postgres.js. `createPostgresClient` is the one place the raw client is created:
// wrap it via `wrapClient` (e.g. to time every query) without touching the rest.
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres, { type Options, type Sql } from 'postgres';
import * as schema from '../../drizzle/schema.js';
import type { AppDatabase, Database } from './types.js';

export interface PostgresOptions {
  /** Pool size. Workers want few (one request's worth), Node more. */
  max?: number;
  /** Hyperdrive and Workers: skip the type-lookup round trip at connect. */
  fetchTypes?: boolean;
  connectTimeoutSeconds?: number;
  /** Decorates the raw client before Drizzle sees it. */
  wrapClient?: (client: Sql) => Sql;
}

export function createPostgresClient(url: string, options: PostgresOptions = {}): Sql {
  const clientOptions: Options<Record<string, never>> = {
    max: options.max ?? 10,
    fetch_types: options.fetchTypes ?? true,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    // Idle connections are closed so a quiet instance does not pin server slots.
    idle_timeout: 30,
    // postgres.js waits up to 20 s between reconnect attempts by default (3^n/100 s, shared by the pool), and
    // queries queue behind that wait: with the database down, requests took 15-20 s to fail. Capped at 1 s
    // (with jitter) they fail as 503 within about a second, and reconnect as soon as the database is back.
    backoff: (attempts: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** attempts, 1),
    onnotice: () => {},
  };
  return postgres(url, clientOptions);
}

export function createPostgresDatabase(url: string, options: PostgresOptions = {}): Database & { client: Sql } {
  const raw = createPostgresClient(url, options);
  const client = options.wrapClient ? options.wrapClient(raw) : raw;
  const db = drizzle(client, { schema }) as unknown as AppDatabase;
  return {
    db,
    client,
    driver: 'postgres',
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      await raw.end({ timeout: 5 });
    },
  };
}
