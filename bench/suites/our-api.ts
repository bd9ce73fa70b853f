// Starts our API the way it runs in production (api/node.ts), with everything on: request metrics pushed
// to our gateway, ECS logs shipped to the Elasticsearch `_bulk` stand-in. Helpers run on the load core.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchProcess, repoRoot, startBulkStandIn, startNodeServer, startPushTarget } from '../lib/processes.js';

export interface OurApi {
  url: string;
  process: BenchProcess;
  describe: string;
  /** The `_bulk` stand-in it ships to (when shipping), for variants that ship the same way. */
  elasticsearchUrl?: string;
  /** What the API pushed to its gateway so far: proof that metrics and log shipping were really on. */
  pushedTotals(): Promise<{ httpRequests: number; logEventsShipped: number; logEventsDropped: number; dbQueries: number }>;
  stop(): Promise<void>;
}

/** Sums every sample of `metric` in a text exposition (only those of `job`, when given). */
export function sumOf(exposition: string, metric: string, job?: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (job !== undefined && !line.includes(`job="${job}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function startOurApi({ shipping, databaseUrl }: { shipping: boolean; databaseUrl: string }): Promise<OurApi> {
  for (const entry of ['api/node.ts', 'pushgateway/node.ts', 'test/support/services/elasticsearch-bulk.ts']) {
    if (!existsSync(join(repoRoot, entry))) throw new Error(`${entry} does not exist yet`);
  }
  const started: BenchProcess[] = [];
  const stop = async () => {
    for (const processHandle of started.reverse()) await processHandle.stop();
  };
  try {
    const gateway = await startPushTarget();
    started.push(gateway);
    const env: Record<string, string> = {
      HOST: '127.0.0.1',
      PUSHGATEWAY_URL: gateway.url,
      PUSH_INTERVAL_MS: '5000',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
    };
    if (shipping) {
      const bulk = await startBulkStandIn();
      started.push(bulk);
      env.ELASTICSEARCH_URL = bulk.url;
    }
    const api = await startNodeServer(shipping ? 'api-all-on' : 'api-no-shipping', 'api/node.ts', {
      env,
      readyPath: '/livez',
      readyTimeoutMs: 120_000,
    });
    started.push(api);
    return {
      url: api.url,
      process: api,
      ...(env.ELASTICSEARCH_URL ? { elasticsearchUrl: env.ELASTICSEARCH_URL } : {}),
      async pushedTotals() {
        const exposition = await (await fetch(`${gateway.url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
        return {
          httpRequests: sumOf(exposition, 'http_requests_total'),
          logEventsShipped: sumOf(exposition, 'log_events_shipped_total'),
          logEventsDropped: sumOf(exposition, 'log_events_dropped_total'),
          dbQueries: sumOf(exposition, 'db_queries_total'),
        };
      },
      describe:
        'ours: api/node.ts on PostgreSQL 15 (real, loopback), request metrics and collectors pushed every 5 s to our gateway (own process), ' +
        'ECS logs shipped to the _bulk stand-in (own process)',
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
