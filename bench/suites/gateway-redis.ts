// Reference: our gateway on its Redis store against the same gateway on its memory store, push ingest at 5k
// stored. Three questions: what one replica costs on each Redis transport (RESP/TCP, Upstash REST through the
// bridge); whether two TCP replicas together out-ingest one memory replica (the point of scaling out); and
// whether concurrent pushes creating new groups with the same families go through without failures; and OTLP
// ingest on the Redis store (delta windows judged across replicas) beside /aggregate on it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../../test/support/services/redis.js';
import { API_LIKE_SERIES, apiLikeBody } from '../lib/exposition.js';
import type { LoadResult } from '../lib/load.js';
import { type BenchProcess, LOAD_CPU, SERVER_CPU, settle, startNodeServer } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { CLIENTS, fillPushGroups, GROUPS, ingestRounds, type PushTarget, pushLoad, startOurGateway } from './gateway.js';
import { otlpIngest } from './gateway-otlp.js';

const BRIDGE_TOKEN = 'bench-bridge-token';
/** So many groups that every push of a round creates one. */
const NEW_GROUPS = 1_000_000_000;

const putTarget = (name: string, server: BenchProcess, prefix = '/metrics/job/bench'): PushTarget => ({
  name,
  server,
  prefix,
  method: 'PUT',
  idempotency: false,
});

/** Both replicas under load at once, half the clients each; the rate is their sum. */
async function pairLoad(pair: PushTarget[], bodyFile: string, seconds: number, groups = GROUPS): Promise<LoadResult> {
  const results = await Promise.all(pair.map((target) => pushLoad(target, bodyFile, seconds, { connections: CLIENTS / 2, groups })));
  const sum = (pick: (r: LoadResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    requests: sum((r) => r.requests),
    seconds: Math.max(...results.map((r) => r.seconds)),
    rps: sum((r) => r.rps),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    bytes: sum((r) => r.bytes),
  };
}

export const gatewayRedisSuite: Suite = {
  name: 'redis',
  description:
    'reference: our gateway on its Redis store (RESP/TCP, and Upstash REST through the bridge) vs its memory store; 2 TCP replicas vs 1 memory; new groups at c16; OTLP ingest on Redis',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const workDir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
    const servers: BenchProcess[] = [];
    const redis = await startRedis();
    const start = async (name: string, env: Record<string, string> = {}, cpu?: string) => {
      const server = await startOurGateway(name, env, cpu);
      servers.push(server);
      return server;
    };
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
      const tcpEnv = (prefix: string) => ({ GATEWAY_REDIS_URL: redis.url, GATEWAY_REDIS_KEY_PREFIX: `{${prefix}}:` });
      const restEnv = (prefix: string) => ({
        GATEWAY_STORE: 'redis',
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN,
        GATEWAY_REDIS_KEY_PREFIX: `{${prefix}}:`,
      });

      // One replica per store.
      const memory = await start('gateway-memory');
      const targets: PushTarget[] = [
        putTarget('memory', memory),
        putTarget('redis TCP', await start('gateway-redis-tcp', tcpEnv('one-tcp'))),
        putTarget('redis REST', await start('gateway-redis-rest', restEnv('one-rest'))),
      ];
      for (const target of targets) await fillPushGroups(target, apiLikeBody());
      for (const target of targets) await pushLoad(target, bodyFile, settings.warmupSeconds);
      const rounds = await ingestRounds(targets, bodyFile, settings, '5k stored', log);
      const rate = (name: string) => rounds.get(name)!.map((run) => run.rps);
      const single: Table = {
        title: `Gateway stores, one replica: push ingest, ${CLIENTS} clients, ${API_LIKE_SERIES}-series PUTs into ${GROUPS} groups (5k stored), ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['store', 'pushes/s', 'p99 ms', '÷ memory'],
        rows: targets.map((target) => [
          target.name,
          formatSpread(spread(rate(target.name))),
          formatSpread(spread(rounds.get(target.name)!.map((run) => run.p99Ms)), 1),
          formatRatio(
            spread(pairedRatios(rate(target.name), rate('memory'))),
            target.name === 'redis TCP' ? { op: '>=', bound: 0.5 } : undefined,
          ),
        ]),
        notes: [
          'gateway on CPU 1, wrk and the REST bridge on CPU 0, Redis 7 (Debian) unpinned; a steady PUT is one Lua script (check-and-apply on the facts cached from the last push of its shape); a new shape reads its facts first (a second script)',
        ],
      };
      for (const target of targets.slice(1)) await target.server.stop();

      // Two TCP replicas, one per core, against one memory replica.
      const pair = [
        putTarget('replica A', await start('gateway-redis-tcp-a', tcpEnv('pair'), SERVER_CPU), '/metrics/job/bench/replica/a'),
        putTarget('replica B', await start('gateway-redis-tcp-b', tcpEnv('pair'), LOAD_CPU), '/metrics/job/bench/replica/b'),
      ];
      for (const target of pair) await fillPushGroups(target, apiLikeBody());
      await pairLoad(pair, bodyFile, settings.warmupSeconds);
      const pairRounds = await alternate<LoadResult>(
        [
          { name: 'memory', measure: async () => await pushLoad(targets[0]!, bodyFile, settings.seconds) },
          { name: 'pair', measure: async () => await pairLoad(pair, bodyFile, settings.seconds) },
        ].map(({ name, measure }) => ({
          name,
          measure: async (round) => {
            const result = await measure();
            for (const target of [targets[0]!, ...pair]) await settle(target.server);
            log(`2 replicas round ${round + 1} ${name}: ${result.rps.toFixed(0)} pushes/s, ${result.non2xx} non-2xx`);
            if (result.non2xx > 0) throw new Error(`${name} refused ${result.non2xx} pushes`);
            return result;
          },
        })),
        settings.rounds,
      );
      const pairRate = (name: string) => pairRounds.get(name)!.map((run) => run.rps);
      const replicas: Table = {
        title: `2 Redis-TCP replicas (one per core, ${CLIENTS / 2} clients each) vs 1 memory replica (${CLIENTS} clients), 5k stored, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['setup', 'pushes/s', '÷ 1 memory replica'],
        rows: [
          ['1 memory replica', formatSpread(spread(pairRate('memory'))), '1'],
          [
            '2 Redis-TCP replicas, sum',
            formatSpread(spread(pairRate('pair'))),
            formatRatio(spread(pairedRatios(pairRate('pair'), pairRate('memory'))), { op: '>=', bound: 1 }),
          ],
        ],
        notes: ['the two replicas share the 2 cores with wrk and Redis itself, so this is a floor, not what two machines would give'],
      };

      // New groups at c16: every push creates a group holding the same families as all the others.
      const fresh = (store: string, env: Record<string, string>) =>
        Promise.all(
          ['a', 'b'].map(async (side, i) =>
            putTarget(
              side,
              await start(`gateway-new-${store}-${side}`, env, i === 0 ? SERVER_CPU : LOAD_CPU),
              `/metrics/job/new/replica/${side}`,
            ),
          ),
        );
      const newGroupRows: string[][] = [];
      for (const [store, env] of [
        ['TCP', tcpEnv('new-tcp')],
        ['REST', restEnv('new-rest')],
      ] as const) {
        const result = await pairLoad(await fresh(store, env), bodyFile, settings.seconds, NEW_GROUPS);
        log(`new groups ${store}: ${result.requests} pushes, ${result.non2xx} non-2xx, ${result.errors} errors`);
        newGroupRows.push([
          `2 replicas, Redis ${store}`,
          String(result.requests),
          `${result.rps.toFixed(0)}`,
          `${result.non2xx + result.errors}`,
        ]);
      }
      const newGroups: Table = {
        title: `New groups: ${CLIENTS} clients PUT ${API_LIKE_SERIES}-series bodies, each into a new group, over 2 replicas, ${settings.seconds} s`,
        columns: ['setup', 'pushes', 'pushes/s', 'failures'],
        rows: newGroupRows,
        notes: [
          'goal: 0 failures (before the facts check compared holder counts, 10 % of such pushes ended in 503 after 20 conflict retries)',
        ],
      };
      // OTLP on one TCP replica: the same variants as the gateway suite's OTLP table (there on the memory store).
      const otlp = await otlpIngest(settings, workDir, servers, log, {
        name: 'Redis store over TCP',
        env: (gateway) => tcpEnv(`otlp-${gateway}`),
      });
      return [single, replicas, newGroups, otlp];
    } finally {
      for (const server of servers.reverse()) await server.stop();
      await redis.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
