// Baseline: the bare app plus the community middleware @hono/prometheus (metrics only, no push, no logs).
import { serve } from '@hono/node-server';
import { prometheus } from '@hono/prometheus';
import { Hono } from 'hono';

const { printMetrics, registerMetrics } = prometheus();
const app = new Hono();
app.use('*', registerMetrics);
app.get('/metrics', printMetrics);
app.get('/livez', (c) => c.json({ status: 'ok' }));

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
// Exit cleanly on SIGTERM so a --cpu-prof profile (BENCH_CPU_PROF) gets written.
process.once('SIGTERM', () => process.exit(0));
