// Child process of the `logs` suite: how many ECS log lines per second one Node process ships into the
// `_bulk` stand-in through our logger (pino → ECS format → redaction → LogShipper → @elastic/elasticsearch).
// The writer keeps the shipper's queue bounded (it waits while more than QUEUE_CAP lines are queued), so
// what is measured is the sustained rate with nothing dropped, not how fast a buffer fills.
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { EnvReader } from '../../pushgateway/config/env.js';
import { readLoggingConfig } from '../../api/logging/config.js';
import { createNodeLogging } from '../../api/logging/node.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const linesPerRound = Number(process.env.BENCH_LINES ?? 100_000);
const QUEUE_CAP = 20_000;
const CHUNK = 500;

const elasticsearchUrl = process.env.ELASTICSEARCH_URL;
if (!elasticsearchUrl) throw new Error('ELASTICSEARCH_URL must be set: there is nothing to ship to');
const reader = new EnvReader({ ...process.env, LOG_LEVEL: 'info', SERVICE_NAME: 'api', LOG_FILE: undefined });
const config = reader.finish(readLoggingConfig(reader));
const { logger, shipper, close } = createNodeLogging(config, {
  stdout: pino.destination({ dest: '/dev/null', sync: false }),
});
if (!shipper) throw new Error('the logger built no shipper although ELASTICSEARCH_URL is set');

async function shipRound(): Promise<{ linesPerSecond: number; dropped: number }> {
  const before = shipper!.stats();
  const droppedBefore = Object.values(before.dropped).reduce((sum, count) => sum + count, 0);
  const started = performance.now();
  let written = 0;
  while (written < linesPerRound) {
    if (shipper!.stats().queuedLines > QUEUE_CAP) {
      await sleep(1);
      continue;
    }
    for (let index = 0; index < CHUNK && written < linesPerRound; index++, written++) {
      // What the request logger writes for each request: ECS http/url/event fields and a message.
      logger.info(
        {
          http: { request: { method: 'GET' }, response: { status_code: 200 } },
          url: { path: `/api/users/${written % 1000}` },
          event: { duration: 1_250_000 + (written % 977) },
          trace: { id: 'b7ad6b7169203331' },
        },
        'request completed',
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await shipper!.flush(60_000);
  const seconds = (performance.now() - started) / 1000;
  const after = shipper!.stats();
  const dropped = Object.values(after.dropped).reduce((sum, count) => sum + count, 0) - droppedBefore;
  const shipped = after.shipped - before.shipped;
  if (shipped + dropped !== linesPerRound) throw new Error(`wrote ${linesPerRound} lines, shipped ${shipped}, dropped ${dropped}`);
  return { linesPerSecond: shipped / seconds, dropped };
}

// Warm-up (JIT, connection pool), not measured.
const warmLines = Math.min(20_000, linesPerRound);
for (let index = 0; index < warmLines; index++) logger.info({ url: { path: '/warm' } }, 'warm-up');
await shipper.flush(60_000);

const results = [];
for (let round = 0; round < rounds; round++) results.push(await shipRound());
await close(10_000);
console.log(`BENCH_RESULT ${JSON.stringify(results)}`);
