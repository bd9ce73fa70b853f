// The Redis store's transport over RESP/TCP (node-redis), for Node replicas: one connection to a Redis
// (GATEWAY_REDIS_URL, redis:// or rediss://) or a cluster client (GATEWAY_REDIS_CLUSTER_NODES). Commands are
// pipelined on the one connection, which is what makes this transport several times faster than REST.
import { createHash } from 'node:crypto';
import { createClient, createCluster, ErrorReply } from 'redis';
import type { RedisCommands } from './redis-commands.js';

export type RedisTcpTarget = { url: string } | { clusterNodes: string[] };

/** How long a call waits for a (re)connecting client before the store answers 503. */
const READY_WAIT_MS = 2_000;
/** A command without an answer for this long fails (503) instead of holding the push; see the operation ids in redis-scripts.ts. */
const COMMAND_TIMEOUT_MS = 10_000;

/** host:port list without user info: URLs here may carry the password. */
function describe(target: RedisTcpTarget): string {
  const urls = 'url' in target ? [target.url] : target.clusterNodes;
  const hosts = urls.map((url) => new URL(url).host).join(',');
  return 'url' in target ? `redis (TCP, ${hosts})` : `redis (cluster, ${hosts})`;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

const isNoScript = (error: unknown) => error instanceof ErrorReply && error.message.startsWith('NOSCRIPT');

export function redisTcpCommands(target: RedisTcpTarget): RedisCommands {
  const clientOptions = {
    // While disconnected, calls fail at once (503) rather than queue without bound.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) },
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
  };
  const client =
    'url' in target
      ? createClient({ url: target.url, ...clientOptions })
      : createCluster({ rootNodes: target.clusterNodes.map((url) => ({ url })), defaults: clientOptions });
  // Connection errors surface as failed calls (503); the client reconnects by itself. Without a listener an
  // 'error' event would end the process.
  client.on('error', () => {});
  let connecting: Promise<unknown> | undefined;
  let connectedOnce = false;
  const connect = () => {
    connecting ??= client.connect().then(
      () => {
        connectedOnce = true;
      },
      (error: unknown) => {
        connecting = undefined; // a cluster whose seed nodes were all down: try again on the next call
        throw error;
      },
    );
    return connecting;
  };
  // A single client says whether its socket is up; a cluster client routes per node and reconnects each.
  const isReady = () => ('isReady' in client ? client.isReady : connectedOnce);
  const ready = async () => {
    if (isReady()) return;
    const pending = connect();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, READY_WAIT_MS);
    });
    try {
      await Promise.race([pending, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
  const hashes = new Map<string, string>();
  return {
    description: describe(target),
    async evalScript(script, keys, args) {
      await ready();
      let hash = hashes.get(script);
      if (hash === undefined) {
        hash = sha1(script);
        hashes.set(script, hash);
      }
      const options = { keys, arguments: args };
      try {
        return await client.evalSha(hash, options);
      } catch (error) {
        // A server that restarted (or a cluster node that never ran it) lacks the script: EVAL loads it.
        if (!isNoScript(error)) throw error;
        return await client.eval(script, options);
      }
    },
    async close() {
      if (isReady()) await client.close().catch(() => client.destroy());
      else if (client.isOpen) client.destroy(); // still reconnecting: nothing to flush
    },
  };
}
