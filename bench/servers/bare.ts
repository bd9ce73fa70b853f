// Baseline: a bare Hono app on @hono/node-server with the same /livez route as our API.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/livez', (c) => c.json({ status: 'ok' }));

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
// Exit cleanly on SIGTERM so a --cpu-prof profile (BENCH_CPU_PROF) gets written.
process.once('SIGTERM', () => process.exit(0));
