// Peers: the community stack for what our API does on every request. `hono-pino` (one pino line per request,
// stdout to /dev/null); with BENCH_PEER_STACK=1 also `@hono/prometheus` metrics and `pino-elasticsearch`
// shipping every line to ELASTICSEARCH_URL (the _bulk stand-in) — the peer of our API with everything on.
import { serve } from '@hono/node-server';
import { prometheus } from '@hono/prometheus';
import { Hono } from 'hono';
import { pinoLogger } from 'hono-pino';
import pino from 'pino';
import pinoElastic from 'pino-elasticsearch';

const stack = process.env.BENCH_PEER_STACK === '1';
const stdout = pino.destination({ dest: '/dev/null', sync: false });
const destination = stack
  ? pino.multistream([
      { stream: stdout },
      {
        stream: pinoElastic({
          index: 'logs-peer-default',
          node: process.env.ELASTICSEARCH_URL!,
          esVersion: 8,
          opType: 'create',
          flushInterval: 1000,
        }),
      },
    ])
  : stdout;

const app = new Hono();
if (stack) {
  const { printMetrics, registerMetrics } = prometheus();
  app.use('*', registerMetrics);
  app.get('/metrics', printMetrics);
}
app.use(pinoLogger({ pino: pino(destination) }));
app.get('/livez', (c) => c.json({ status: 'ok' }));

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
// Exit cleanly on SIGTERM so a --cpu-prof profile (BENCH_CPU_PROF) gets written.
process.once('SIGTERM', () => process.exit(0));
