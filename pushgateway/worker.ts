// The gateway on Cloudflare Workers: the same Hono app as on Node, with its state in a Durable Object
// (GATEWAY_STORE=memory, the default: "memory" of one Durable Object, persisted in its storage) or in
// Redis through Upstash (GATEWAY_STORE=redis). Configuration comes from wrangler.toml vars and secrets under
// the same names as on Node; a bad value answers 500 naming the variable (Workers have no start-up step
// that could refuse to start), and is logged.
import { createGatewayApp } from './app.js';
import { ConfigError } from './config/env.js';
import { loadGatewayConfig } from './config/gateway.js';
import type { ExpositionFormat } from './core/exposition-format.js';
import { createStore } from './store/create.js';
import type { GatewayStoreObject } from './store/durable-object.js';
import { DurableObjectStore } from './store/durable-object-store.js';

export { GatewayStoreObject } from './store/durable-object.js';

export interface GatewayWorkerEnv {
  GATEWAY_STATE: DurableObjectNamespace<GatewayStoreObject>;
  /** GATEWAY_* and UPSTASH_* variables, read by loadGatewayConfig. */
  [name: string]: unknown;
}

const log = {
  debug: (fields: Record<string, unknown>, message: string) => console.debug(JSON.stringify({ level: 'debug', message, ...fields })),
  warn: (fields: Record<string, unknown>, message: string) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (fields: Record<string, unknown>, message: string) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
};

// One app per isolate and env: the env object is stable for an isolate's lifetime.
const apps = new WeakMap<object, ReturnType<typeof createGatewayApp>>();

export default {
  async fetch(request: Request, env: GatewayWorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let app = apps.get(env);
    if (!app) {
      try {
        const config = loadGatewayConfig(env);
        if (config.pushToken === undefined)
          log.warn({}, 'GATEWAY_PUSH_TOKEN is not set: anyone who reaches the gateway can push and delete');
        // No compression in the app: on Workers the runtime (and Cloudflare's edge) compresses responses.
        const store = createStore(config, { gatewayState: env.GATEWAY_STATE });
        // The Durable Objects send remote write on an alarm and check family types across shards; their own
        // metrics of both belong on this /metrics.
        const extraMetrics = store instanceof DurableObjectStore ? (format: ExpositionFormat) => store.objectMetrics(format) : undefined;
        app = createGatewayApp({ store, config, log, compressScrapes: false, ...(extraMetrics ? { extraMetrics } : {}) });
        apps.set(env, app);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        log.error(
          { err: error.message },
          'gateway configuration is invalid: fix the variables named (wrangler.toml [vars] or secrets; for `wrangler dev`, .dev.vars)',
        );
        return Response.json({ error: { code: 'misconfigured', message: error.message } }, { status: 500 });
      }
    }
    return await app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<GatewayWorkerEnv>;
