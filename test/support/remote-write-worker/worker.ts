// A Worker that holds a gateway over the memory store and remote-writes it on request, as the Durable Object
// does on its alarm: proves the encoder, snappy and the sender run in workerd. Bundled by wrangler and run by
// test/workerd/remote-write-worker.test.ts.
import { createGatewayApp } from '../../../pushgateway/app.js';
import { loadGatewayConfig } from '../../../pushgateway/config/gateway.js';
import { createRemoteWriter, MemoryLease, type RemoteWriter } from '../../../pushgateway/remote-write/index.js';
import { MemoryStore } from '../../../pushgateway/store/memory.js';

const store = new MemoryStore();
let app: ReturnType<typeof createGatewayApp> | undefined;
let writer: RemoteWriter | undefined;

const logger = {
  warn: (fields: Record<string, unknown>, message: string) => console.warn(message, JSON.stringify(fields)),
  error: (fields: Record<string, unknown>, message: string) => console.error(message, JSON.stringify(fields)),
};

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const config = loadGatewayConfig(env);
    // workerd compresses responses itself (see the Worker entry)
    app ??= createGatewayApp({ store, config, compressScrapes: false, extraMetrics: (format) => writer?.metricsText(format) ?? '' });
    if (new URL(request.url).pathname === '/remote-write/send') {
      writer ??= createRemoteWriter({ config: config.remoteWrite!, store, lease: new MemoryLease(), logger });
      return Response.json({ outcome: await writer.sendOnce() });
    }
    return app.fetch(request, env);
  },
};
