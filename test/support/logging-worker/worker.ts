// A Worker that logs exactly as the API Worker does (api/logging's Workers logger, the access-log middleware,
// a flush in waitUntil), with routes that make every kind of line. Bundled by wrangler and run in workerd
// by test/workerd/logging-worker.test.ts.
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import { accessLog } from '../../../api/logging/access-log.js';
import { loadConfig } from '../../../api/config.js';
import type { Logging } from '../../../api/logging/types.js';
import { createWorkerLogging } from '../../../api/logging/worker.js';

let logging: Logging | undefined;
let app: Hono | undefined;

function build(logger: Logger): Hono {
  const built = new Hono();
  built.use(requestId());
  built.use(accessLog({ logger }));
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
    app ??= build(logging.logger);
    const response = await app.fetch(request, env, ctx);
    ctx.waitUntil(logging.flush(3_000));
    return response;
  },
} satisfies ExportedHandler<Record<string, unknown>>;
