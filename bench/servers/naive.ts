// Reference: what a first attempt usually looks like — prom-client counter + histogram with a labels
// object built per request, and one pino access-log line per request (sync writes to /dev/null).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';

const registry = new Registry();
const requests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests',
  labelNames: ['method', 'endpoint', 'status'],
  registers: [registry],
});
const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration',
  labelNames: ['method', 'endpoint'],
  registers: [registry],
});
const logger = pino(pino.destination({ dest: '/dev/null', sync: true }));

const app = new Hono();
app.use('*', async (c, next) => {
  const start = performance.now();
  await next();
  const seconds = (performance.now() - start) / 1000;
  const labels = { method: c.req.method, endpoint: c.req.routePath, status: String(c.res.status) };
  requests.inc(labels);
  duration.observe({ method: labels.method, endpoint: labels.endpoint }, seconds);
  logger.info(
    { req: { method: c.req.method, url: c.req.url }, res: { statusCode: c.res.status }, responseTime: seconds * 1000 },
    'request completed',
  );
});
app.get('/metrics', async (c) => c.text(await registry.metrics()));
app.get('/livez', (c) => c.json({ status: 'ok' }));

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
// Exit cleanly on SIGTERM so a --cpu-prof profile (BENCH_CPU_PROF) gets written.
process.once('SIGTERM', () => process.exit(0));
