// CPU one steady push costs on the Redis store (TCP), split between the gateway process and Redis, beside the same
// push on the memory store: the figures behind the `redis` suite's "2 TCP replicas ÷ 1 memory replica" (what a pair
// of replicas plus Redis spend per push against one memory replica). CPU time, not wall time, so a busy machine
// changes the figures less than a rate. The bench's load in one process: 16 pushes in flight, 50-series PUTs
// (bench/lib/exposition.ts apiLikeBody) into 100 groups, through the gateway app (parsing included), no HTTP server.
// Redis's CPU is INFO cpu (used_cpu_user + used_cpu_sys), the process's process.cpuUsage(). Starts its own Redis 7:
//   npx tsx bench/scripts/redis-push-cost.ts      (PUSHES=… to change the count, METHOD=POST for /aggregate deltas)
import { createClient } from 'redis';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig } from '../../pushgateway/config/gateway.js';
import { memoryStoreOptions, redisStoreOptions } from '../../pushgateway/store/create.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import { RedisStore } from '../../pushgateway/store/redis.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import type { GatewayStore } from '../../pushgateway/store/types.js';
import { startRedis } from '../../test/support/services/redis.js';
import { apiLikeBody } from '../lib/exposition.js';

const pushes = Number(process.env.PUSHES ?? 20_000);
const method = process.env.METHOD === 'POST' ? 'POST' : 'PUT';
const inFlight = 16;
const groups = 100;
const body = apiLikeBody();
const config = defaultGatewayConfig;

const redis = await startRedis();
const client = createClient({ url: redis.url });
try {
  await client.connect();
  const redisCpuSeconds = async () => {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
    return field('used_cpu_user') + field('used_cpu_sys');
  };
  const processCpuSeconds = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  const path = (group: number) => `${method === 'PUT' ? '' : '/aggregate'}/metrics/job/bench/instance/i${group}`;
  /** µs of the process's and Redis's CPU per push, over `pushes` steady pushes after every group was written. */
  const measure = async (store: GatewayStore) => {
    const app = createGatewayApp({ store, config });
    const pushOne = async (group: number) => {
      const response = await app.request(path(group), { method, body });
      if (response.status !== 200) throw new Error(`push answered ${response.status}: ${await response.text()}`);
    };
    for (let group = 0; group < groups; group++) await pushOne(group);
    for (let i = 0; i < 2_000; i++) await pushOne(i % groups);
    const [processBefore, redisBefore] = [processCpuSeconds(), await redisCpuSeconds()];
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < pushes) await pushOne(next++ % groups);
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const [processAfter, redisAfter] = [processCpuSeconds(), await redisCpuSeconds()];
    const perPush = (seconds: number) => (seconds * 1e6) / pushes;
    return { process: perPush(processAfter - processBefore), redis: perPush(redisAfter - redisBefore), rate: pushes / wallSeconds };
  };
  const memory = await measure(new MemoryStore(memoryStoreOptions(config)));
  const redisStore = new RedisStore({ commands: redisTcpCommands({ url: redis.url }), ...redisStoreOptions(config) });
  const onRedis = await measure(redisStore);
  await redisStore.close();
  const row = (name: string, { process: own, redis: server, rate }: { process: number; redis: number; rate: number }) =>
    `  ${name.padEnd(12)} gateway ${own.toFixed(0).padStart(5)} µs + Redis ${server.toFixed(0).padStart(5)} µs = ${(own + server).toFixed(0).padStart(5)} µs/push (${rate.toFixed(0)} pushes/s in one process)`;
  console.log(`${pushes} ${method}s of 50 series into ${groups} groups, ${inFlight} in flight, CPU per push:`);
  console.log(row('memory', { ...memory, redis: 0 }));
  console.log(row('Redis TCP', onRedis));
  console.log(
    `  2 replicas + Redis ÷ 1 memory replica, CPU-bound on 2 cores: ≈ ${((2 * memory.process) / (onRedis.process + onRedis.redis)).toFixed(2)}×`,
  );
} finally {
  if (client.isOpen) await client.quit();
  await redis.stop();
}
