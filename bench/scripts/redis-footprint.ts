// The figure behind GATEWAY_MAX_IDEMPOTENCY_BYTES on the Redis store (pushgateway/README.md "Idempotency"): Redis
// memory one remembered Idempotency-Key takes, as INFO used_memory grows over KEYS keyed pushes into one group
// (the group's own data is written by the warm-up push), and MEMORY USAGE of the sorted set alone. The per-call operation ids (P..'op:', two minutes) are
// deleted before measuring: they are not remembered keys. Starts its own Redis 7 on loopback:
//   npx tsx bench/scripts/redis-footprint.ts      (KEYS=… to change the count, JOB_LENGTH=… the job's length)
import { createClient } from 'redis';
import { parseTextExposition } from '../../pushgateway/core/text-parser.js';
import { RedisStore } from '../../pushgateway/store/redis.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import { startRedis } from '../../test/support/services/redis.js';

const keys = Number(process.env.KEYS ?? 100_000);
const job = 'j'.repeat(Number(process.env.JOB_LENGTH ?? 3));
const inFlight = 32;

const redis = await startRedis();
const client = createClient({ url: redis.url });
try {
  await client.connect();
  const store = new RedisStore({ commands: redisTcpCommands({ url: redis.url }), maxIdempotencyKeys: keys + 1 });
  const { families } = parseTextExposition('# TYPE k_total counter\nk_total 1\n');
  const keyedPush = (idempotencyKey: string) =>
    store.apply({ mode: 'aggregate', grouping: { job }, families, idempotencyKey, nowMs: Date.now() });
  const withoutOperationIds = async () => {
    for await (const batch of client.scanIterator({ MATCH: '{pushgateway}:op:*', COUNT: 1000 }))
      if (batch.length > 0) await client.del(batch);
    return Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
  };
  await keyedPush('warm-up');
  const before = await withoutOperationIds();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < keys) {
        next++;
        await keyedPush(crypto.randomUUID());
      }
    }),
  );
  const after = await withoutOperationIds();
  const sortedSet = Number(await client.sendCommand(['MEMORY', 'USAGE', '{pushgateway}:kt', 'SAMPLES', '0']));
  const { idempotencyKeysEvicted } = await store.stats(Date.now());
  console.log(
    `keys: ${keys}, job of ${job.length} characters; Redis used_memory ${((after - before) / keys).toFixed(0)} B/key, ` +
      `MEMORY USAGE of the sorted set ${(sortedSet / keys).toFixed(0)} B/key (${idempotencyKeysEvicted} evicted)`,
  );
  await store.close();
} finally {
  if (client.isOpen) await client.quit();
  await redis.stop();
}
