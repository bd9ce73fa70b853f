// Baseline of the representative route: what an app without our observability does for GET /api/users/:id — a
// bare Hono app on @hono/node-server with Drizzle over postgres.js (its defaults), one point select per request,
// the row as JSON, 404 when there is none. DATABASE_URL names a database our migrations have been applied to.
// BENCH_QUERY_TIMING=1 wraps the client in our query timer (api/observability/query-timing.ts), to show what that
// layer alone costs; BENCH_PREPARED=1 runs the select as our repository does (a Drizzle prepared query, built once).
import { serve } from '@hono/node-server';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { Hono } from 'hono';
import postgres from 'postgres';
import { createApiMetrics } from '../../api/observability/metrics.js';
import { instrumentPostgresClient } from '../../api/observability/query-timing.js';
import { users } from '../../drizzle/schema.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must be set');
const client = postgres(url, { onnotice: () => {} });
const db = drizzle(
  process.env.BENCH_QUERY_TIMING === '1'
    ? instrumentPostgresClient(client, createApiMetrics(undefined, { nodeCollectors: false }))
    : client,
);

const userById = db
  .select()
  .from(users)
  .where(eq(users.id, sql.placeholder('id')))
  .prepare('user_by_id');
const selectUser =
  process.env.BENCH_PREPARED === '1'
    ? (id: string) => userById.execute({ id })
    : (id: string) => db.select().from(users).where(eq(users.id, id));

const app = new Hono();
app.get('/livez', (c) => c.json({ status: 'ok' }));
app.get('/api/users/:id', async (c) => {
  const [user] = await selectUser(c.req.param('id'));
  return user ? c.json(user) : c.json({ error: 'not found' }, 404);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
// Exit cleanly on SIGTERM so a --cpu-prof profile (BENCH_CPU_PROF) gets written.
process.once('SIGTERM', () => void client.end({ timeout: 1 }).finally(() => process.exit(0)));
