// Reference: our gateway's Workers build (Durable Object state) in real workerd via Miniflare against the
// Node gateway with the memory store: push ingest at 5k stored. workerd is not tuned for single-core
// throughput benchmarks (and Miniflare adds a proxy hop), so this is an order-of-magnitude reference.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_LIKE_SERIES, apiLikeBody } from '../lib/exposition.js';
import { type BenchProcess, repoRoot, startNodeServer } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { CLIENTS, fillPushGroups, GROUPS, ingestRounds, type PushTarget, pushLoad, startOurGateway } from './gateway.js';

const workerConfigs = ['pushgateway/wrangler.toml', 'wrangler.gateway.toml'];

export const gatewayWorkersSuite: Suite = {
  name: 'workers',
  description:
    'reference: our gateway Worker in workerd (Miniflare), 1 and 4 Durable Object shards, vs the Node gateway, push ingest at 5k stored',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const config = workerConfigs.find((candidate) => existsSync(join(repoRoot, candidate)));
    if (!config) throw new Error(`no gateway Worker config found (looked for ${workerConfigs.join(', ')})`);
    const workDir = mkdtempSync(join(tmpdir(), 'bench-workers-'));
    const servers: BenchProcess[] = [];
    try {
      const bodyFile = join(workDir, 'push.txt');
      writeFileSync(bodyFile, apiLikeBody());
      log(`bundling and starting ${config} in workerd`);
      const startWorker = async (name: string, shards: number) => {
        const worker = await startNodeServer(name, 'bench/servers/worker.ts', {
          announcesUrl: true,
          readyPath: '/-/ready',
          readyTimeoutMs: 180_000,
          env: {
            BENCH_WORKER_CONFIG: join(repoRoot, config),
            BENCH_WORKER_BINDINGS: JSON.stringify({ GATEWAY_MAX_SERIES: '10000000', GATEWAY_DO_SHARDS: String(shards) }),
          },
        });
        servers.push(worker);
        return worker;
      };
      const worker = await startWorker('gateway-worker', 1);
      const sharded = await startWorker('gateway-worker-4-shards', 4);
      const node = await startOurGateway('gateway-memory');
      servers.push(node);
      const targets: PushTarget[] = [
        { name: 'Node, memory store', server: node, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
        { name: 'Worker, 1 Durable Object', server: worker, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
        { name: 'Worker, 4 Durable Object shards', server: sharded, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
      ];
      for (const target of targets) await fillPushGroups(target, apiLikeBody());
      for (const target of targets) await pushLoad(target, bodyFile, settings.warmupSeconds);
      const rounds = await ingestRounds(targets, bodyFile, settings, '5k stored', log);
      const rate = (name: string) => rounds.get(name)!.map((run) => run.rps);
      const table: Table = {
        title: `Gateway on Workers: push ingest, ${CLIENTS} clients, ${API_LIKE_SERIES}-series PUTs into ${GROUPS} groups (5k stored), ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['build', 'pushes/s', 'p99 ms', '÷ Node', '÷ 1 object'],
        rows: targets.map((target) => [
          target.name,
          formatSpread(spread(rate(target.name))),
          formatSpread(spread(rounds.get(target.name)!.map((run) => run.p99Ms)), 1),
          formatRatio(spread(pairedRatios(rate(target.name), rate('Node, memory store')))),
          target.server === node ? '' : formatRatio(spread(pairedRatios(rate(target.name), rate('Worker, 1 Durable Object')))),
        ]),
        notes: [
          `${config} bundled by wrangler deploy --dry-run, run by Miniflare in workerd pinned to CPU 1 (with its Node host process)`,
          'all objects of one workerd process share its one thread here; on Cloudflare each object runs on its own',
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
