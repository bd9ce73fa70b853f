// The figures behind GATEWAY_MAX_IDEMPOTENCY_BYTES and GATEWAY_MAX_OPERATION_ID_BYTES on the Redis store
// (pushgateway/README.md "Idempotency", "Shared state for replicas: Redis"): Redis memory one remembered
// Idempotency-Key and one push call's operation id take, as INFO used_memory grows over COUNT pushes into one group
// (the group's own data is written by the warm-up push), and MEMORY USAGE of each sorted set alone. Keyed pushes
// are measured with the operation ids deleted, unkeyed pushes give the operation ids alone. Starts its own Redis 7
// on loopback:
//   npx tsx bench/scripts/redis-footprint.ts      (COUNT=… to change the count, JOB_LENGTH=… the job's length)
import { createClient } from 'redis';
import { parseTextExposition } from '../../pushgateway/core/text-parser.js';
import { RedisStore } from '../../pushgateway/store/redis.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import { startRedis } from '../../test/support/services/redis.js';

const count = Number(process.env.COUNT ?? 100_000);
const job = 'j'.repeat(Number(process.env.JOB_LENGTH ?? 3));
const inFlight = 32;

const redis = await startRedis();
const client = createClient({ url: redis.url });
try {
  await client.connect();
  const store = new RedisStore({
    commands: redisTcpCommands({ url: redis.url }),
    maxIdempotencyKeys: count + 1,
    maxOperationIds: 2 * count + 2,
  });
  const { families } = parseTextExposition('# TYPE k_total counter\nk_total 1\n');
  const pushOne = (idempotencyKey?: string) =>
    store.apply({ mode: 'aggregate', grouping: { job }, families, ...(idempotencyKey ? { idempotencyKey } : {}), nowMs: Date.now() });
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
  const setBytes = async (key: string) => Number(await client.sendCommand(['MEMORY', 'USAGE', `{pushgateway}:${key}`, 'SAMPLES', '0']));
  const perPush = async (keyed: boolean) => {
    const before = await usedMemory();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          next++;
          await pushOne(keyed ? crypto.randomUUID() : undefined);
        }
      }),
    );
    return (await usedMemory()) - before;
  };
  await pushOne('warm-up');
  const operationIds = await perPush(false);
  const operationSet = await setBytes('ot');
  await client.del('{pushgateway}:ot');
  const keyedBefore = await usedMemory();
  const keyed = await perPush(true);
  await client.del('{pushgateway}:ot');
  const keysAlone = (await usedMemory()) - keyedBefore;
  const keySet = await setBytes('kt');
  const { idempotencyKeysEvicted, operationIdsEvicted } = await store.stats(Date.now());
  const perItem = (bytes: number) => (bytes / count).toFixed(0);
  console.log(
    `${count} pushes into a job of ${job.length} characters, Redis used_memory and MEMORY USAGE of the sorted set:\n` +
      `  operation id:    ${perItem(operationIds)} B/push, ${perItem(operationSet)} B/id (${operationIdsEvicted} evicted)\n` +
      `  Idempotency-Key: ${perItem(keysAlone)} B/key, ${perItem(keySet)} B/key (${idempotencyKeysEvicted} evicted); ` +
      `a keyed push with its operation id: ${perItem(keyed)} B`,
  );
  await store.close();
} finally {
  if (client.isOpen) await client.quit();
  await redis.stop();
}
