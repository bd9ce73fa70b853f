// The Redis store on a real 3-node Redis Cluster through node-redis createCluster: the same cases as on one
// Redis (test/support/redis-store-suite.ts), which works because all of one gateway's keys carry one hash
// tag; and gateways with different prefixes land on different nodes.
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../pushgateway/store/redis.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import { describeRedisStore } from '../support/redis-store-suite.js';
import { type RunningRedisCluster, startRedisCluster } from '../support/services/redis-cluster.js';

let cluster: RunningRedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

describeRedisStore('Redis Cluster', () => ({
  connect: () => redisTcpCommands({ clusterNodes: cluster.urls }),
  unreachable: () => redisTcpCommands({ clusterNodes: ['redis://127.0.0.1:9'] }),
}));

describe('Redis Cluster placement', () => {
  it('keeps one gateway in one slot, and spreads gateways with different prefixes over the nodes', async () => {
    const prefixes = ['{gw-a}:', '{gw-b}:', '{gw-c}:', '{gw-d}:', '{gw-e}:', '{gw-f}:'];
    const commands = redisTcpCommands({ clusterNodes: cluster.urls });
    try {
      for (const keyPrefix of prefixes) {
        const store = new RedisStore({ commands, keyPrefix });
        const families = [{ name: 'placed_total', help: undefined, type: 'counter' as const, metrics: [{ labels: {}, value: 1 }] }];
        expect(await store.apply({ mode: 'aggregate', grouping: { job: 'a' }, families, nowMs: 1 })).toEqual({ status: 'applied' });
        expect(await store.apply({ mode: 'aggregate', grouping: { job: 'b' }, families, nowMs: 1 })).toEqual({ status: 'applied' });
      }
    } finally {
      await commands.close();
    }
    // Which node holds each gateway's keys: all of a prefix's keys on exactly one node.
    const admin = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const holders = new Map<string, Set<string>>();
      for (const node of admin.masters) {
        const client = await admin.nodeClient(node);
        for (const key of await client.keys('{gw-*')) {
          const prefix = key.slice(0, key.indexOf('}') + 2);
          holders.set(prefix, (holders.get(prefix) ?? new Set()).add(`${node.host}:${node.port}`));
        }
      }
      expect([...holders.keys()].sort()).toEqual(prefixes);
      for (const nodes of holders.values()) expect(nodes.size).toBe(1);
      expect(new Set([...holders.values()].map((nodes) => [...nodes][0])).size).toBeGreaterThan(1);
    } finally {
      await admin.close();
    }
  });
});
