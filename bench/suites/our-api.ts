// Starts our API the way it runs in production (api/node.ts), with everything on: request metrics pushed
// to our gateway, ECS logs shipped to the Elasticsearch `_bulk` stand-in. Helpers run on the load core.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CPU, repoRoot, startNodeServer, type BenchProcess } from '../lib/processes.js';

export interface OurApi {
  url: string;
  describe: string;
  stop(): Promise<void>;
}

export async function startOurApi({ shipping }: { shipping: boolean }): Promise<OurApi> {
  for (const entry of ['api/node.ts', 'pushgateway/node.ts', 'test/services/elasticsearch-bulk.ts']) {
    if (!existsSync(join(repoRoot, entry))) throw new Error(`${entry} does not exist yet`);
  }
  const started: BenchProcess[] = [];
  const stop = async () => {
    for (const processHandle of started.reverse()) await processHandle.stop();
  };
  try {
    const gateway = await startNodeServer('gateway', 'bench/servers/gateway.ts', { portEnv: ['GATEWAY_PORT'], readyPath: '/-/ready', cpu: LOAD_CPU });
    started.push(gateway);
    const env: Record<string, string> = {
      HOST: '127.0.0.1',
      PUSHGATEWAY_URL: gateway.url,
      PUSH_INTERVAL_MS: '5000',
      LOG_LEVEL: 'info',
      PGLITE_DIR: 'memory://',
    };
    if (shipping) {
      const bulk = await startNodeServer('elasticsearch-bulk', 'bench/servers/elasticsearch-bulk.ts', { readyPath: '/', cpu: LOAD_CPU, announcesUrl: true });
      started.push(bulk);
      env.ELASTICSEARCH_URL = bulk.url;
    }
    const api = await startNodeServer(shipping ? 'api-all-on' : 'api-no-shipping', 'api/node.ts', { env, readyPath: '/livez' });
    started.push(api);
    return {
      url: api.url,
      describe: 'ours: api/node.ts with request metrics pushed every 5 s to our gateway (pushgateway/node.ts) and ECS logs shipped to the _bulk stand-in',
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
