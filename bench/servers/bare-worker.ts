// Baseline for the `workers-api` suite: a bare Hono Worker with the same /livez route as our API, bundled by
// wrangler from bench/servers/bare-worker.toml and run in workerd like ours.
import { Hono } from 'hono';

const app = new Hono();
app.get('/livez', (c) => c.json({ status: 'pass' }));

export default app;
