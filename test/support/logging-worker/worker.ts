// A Worker that logs exactly as the API Worker does (api/logging's Workers logger, the access-log middleware,
// the flush window that ships in waitUntil), with routes that make every kind of line. Bundled by wrangler and run in workerd
// by test/workerd/logging-worker.test.ts.
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { loadConfig } from '../../../api/config.js';
import { accessLog } from '../../../api/logging/access-log.js';
import { createWorkerLogging, type WorkerLogging } from '../../../api/logging/worker.js';

let logging: WorkerLogging | undefined;
let app: Hono | undefined;

function build({ logger, accessLine }: WorkerLogging): Hono {
  const built = new Hono();
  built.use(requestId());
  built.use(accessLog({ logger, write: accessLine }));
  built.get('/api/users/:id', (c) => c.json({ id: c.req.param('id') }));
  built.post('/api/login', (c) => {
    logger.info(
      { body: { username: 'ann', password: 'SECRET-PW' }, headers: { authorization: c.req.header('authorization') } },
      'login attempt',
    );
    return c.json({ ok: true });
  });
  built.get('/api/boom', () => {
    throw new TypeError('the database is on fire');
  });
  built.get('/stats', (c) => c.json(logging?.shipper?.stats() ?? null));
  built.onError((_error, c) => c.json({ error: { code: 'internal_error', message: 'Internal server error' } }, 500));
  return built;
}

export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response> {
    logging ??= createWorkerLogging(loadConfig(env).logging, { shipper: { minBackoffMs: 20, maxBackoffMs: 200 } });
    app ??= build(logging);
    const response = await app.fetch(request, env, ctx);
    logging.afterRequest(ctx);
    return response;
  },
} satisfies ExportedHandler<Record<string, unknown>>;
