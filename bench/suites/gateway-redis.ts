// Reference: our gateway with its Redis store (real Redis 7 behind the Upstash REST bridge, as on Workers or
// with stateless replicas) against the same gateway with the memory store: push ingest at 5k stored.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../../test/support/services/redis.js';
import { API_LIKE_SERIES, apiLikeBody } from '../lib/exposition.js';
import { LOAD_CPU, startNodeServer, type BenchProcess } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { pairedRatios, spread } from '../lib/stats.js';
import { atMostRounds } from '../lib/rounds.js';
import type { Suite } from '../lib/suite.js';
import { CLIENTS, GROUPS, fillPushGroups, ingestRounds, pushLoad, startOurGateway, type PushTarget } from './gateway.js';

const BRIDGE_TOKEN = 'bench-bridge-token';

export const gatewayRedisSuite: Suite = {
  name: 'redis',
  description:
    'reference: our gateway on its Redis store (real Redis via the Upstash REST bridge) vs its memory store, push ingest at 5k stored',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const workDir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
    const servers: BenchProcess[] = [];
    const redis = await startRedis();
    try {
      const bodyFile = join(workDir, 'push.txt');
      writeFileSync(bodyFile, apiLikeBody());
      const bridge = await startNodeServer('redis-bridge', 'test/support/redis-bridge/node.ts', {
        portEnv: ['BRIDGE_PORT'],
        readyPath: '/',
        cpu: LOAD_CPU,
        env: { REDIS_URL: redis.url, BRIDGE_TOKEN, BRIDGE_HOST: '127.0.0.1' },
      });
      servers.push(bridge);
      const memory = await startOurGateway('gateway-memory');
      servers.push(memory);
      const redisBacked = await startOurGateway('gateway-redis', {
        GATEWAY_STORE: 'redis',
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN,
      });
      servers.push(redisBacked);
      const targets: PushTarget[] = [
        { name: 'memory', server: memory, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
        { name: 'redis', server: redisBacked, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
      ];
      for (const target of targets) await fillPushGroups(target, apiLikeBody());
      for (const target of targets) await pushLoad(target, bodyFile, settings.warmupSeconds);
      const rounds = await ingestRounds(targets, bodyFile, settings, '5k stored', log);
      const rate = (name: string) => rounds.get(name)!.map((run) => run.rps);
      const table: Table = {
        title: `Gateway stores: push ingest, ${CLIENTS} clients, ${API_LIKE_SERIES}-series PUTs into ${GROUPS} groups (5k stored), ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['store', 'pushes/s', 'p99 ms', '÷ memory'],
        rows: targets.map((target) => [
          target.name,
          formatSpread(spread(rate(target.name))),
          formatSpread(spread(rounds.get(target.name)!.map((run) => run.p99Ms)), 1),
          formatRatio(spread(pairedRatios(rate(target.name), rate('memory')))),
        ]),
        notes: [
          'Redis 7 (Debian, unpinned) behind the Upstash REST bridge (CPU 0); a PUT costs two Lua scripts over HTTP (read the facts validation needs, then check-and-apply atomically)',
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
      await redis.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
