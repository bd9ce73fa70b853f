// A real 3-node Redis Cluster (Debian `redis-server` x3 + `redis-cli --cluster create`) on loopback: three
// primaries, no replicas, every slot assigned. Each node has its own temp dir (cluster config file) and
// its own bus port, both chosen here so nothing collides with other tests.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { freePort, type RunningService, requireBinary, waitUntil } from './process.js';
import { startRedis } from './redis.js';

export interface RunningRedisCluster {
  /** redis://127.0.0.1:PORT of every node (the value for GATEWAY_REDIS_CLUSTER_NODES, comma-joined). */
  urls: string[];
  nodes: RunningService[];
  stop(): Promise<void>;
}

async function clusterState(url: string): Promise<string> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = String(await client.sendCommand(['CLUSTER', 'INFO']));
    return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    if (client.isOpen) await client.close();
  }
}

export async function startRedisCluster(size = 3): Promise<RunningRedisCluster> {
  const cli = requireBinary(['/usr/bin/redis-cli'], 'redis-tools');
  const nodes: RunningService[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < size; i++) {
      const busPort = await freePort();
      nodes.push(
        await startRedis(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '2000',
          ],
          `Redis cluster node ${i + 1}`,
        ),
      );
    }
    await promisify(execFile)(
      cli,
      ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 60_000 },
    );
    const urls = nodes.map((node) => node.url);
    await waitUntil(async () => (await Promise.all(urls.map(clusterState))).every((state) => state === 'ok'), {
      what: 'Redis cluster state ok',
      timeoutMs: 30_000,
    });
    return { urls, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
