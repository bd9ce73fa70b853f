// startRemoteWrite's timer and shutdown, and what a tick does when the store is unreachable, against a real
// HTTP receiver on 127.0.0.1.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecodedSeries, decodeRequestBody } from '../../test/support/remote-write-decode.js';
import { parseTextExposition } from '../core/text-parser.js';
import { MemoryStore } from '../store/memory.js';
import { RedisStore } from '../store/redis.js';
import { upstashCommands } from '../store/redis-rest.js';
import { defaultRemoteWriteSettings } from './config.js';
import { createRemoteWriter, MemoryLease, startRemoteWrite } from './index.js';

let server: Server;
let url: string;
const received: DecodedSeries[][] = [];
const authorizations: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(decodeRequestBody(Buffer.concat(chunks)));
      authorizations.push(req.headers.authorization);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/write`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const log = { warn() {}, error() {} };
const config = (urls: string[]) => ({ ...defaultRemoteWriteSettings, urls, auth: undefined, headers: {}, intervalSeconds: 1 });

async function storeWithGauge(value: number) {
  const store = new MemoryStore();
  await store.apply({
    mode: 'replace',
    grouping: { job: 'life' },
    families: parseTextExposition(`# TYPE g gauge\ng ${value}\n`).families,
    nowMs: Date.now(),
  });
  return store;
}

describe('startRemoteWrite', () => {
  it('sends at every multiple of the interval, and stop() sends a last snapshot before it resolves', async () => {
    received.length = 0;
    const store = await storeWithGauge(1);
    const running = startRemoteWrite({ config: config([url]), store, lease: new MemoryLease(), logger: log });
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    const timestamps = received.map((request) => request[0]!.samples[0]!.timestampMs);
    expect(timestamps.length).toBeGreaterThanOrEqual(2);
    for (const ts of timestamps) expect(ts % 1000).toBeLessThan(200); // aligned to whole seconds, as on every replica
    await store.apply({
      mode: 'replace',
      grouping: { job: 'life' },
      families: parseTextExposition('# TYPE g gauge\ng 2\n').families,
      nowMs: Date.now(),
    });
    const before = received.length;
    await running.stop();
    expect(received.length).toBe(before + 1);
    const last = received.at(-1)!.find((series) => series.labels.some(([n, v]) => n === '__name__' && v === 'g'))!;
    expect(last.samples[0]!.value).toBe(2);
    expect(running.metricsText()).toContain(`prometheus_remote_storage_samples_total{url="${url}"} ${3 * received.length}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(received.length).toBe(before + 1); // no tick after stop
  });
});

describe('credentials', () => {
  it('sends basic auth as UTF-8 base64', async () => {
    authorizations.length = 0;
    const store = await storeWithGauge(1);
    const writer = createRemoteWriter({
      config: { ...config([url]), auth: { kind: 'basic', username: 'rw-user', password: 'pä:ss€' } },
      store,
      lease: new MemoryLease(),
      logger: log,
    });
    expect(await writer.sendOnce()).toBe('queued');
    expect(authorizations).toEqual([`Basic ${Buffer.from('rw-user:pä:ss€', 'utf8').toString('base64')}`]);
  });
});

describe('a tick without the store', () => {
  it('sends nothing, counts the interval and logs it when the store cannot be read', async () => {
    received.length = 0;
    const errors: string[] = [];
    const store = new RedisStore({ commands: upstashCommands({ url: 'http://127.0.0.1:9/', token: 't' }) }); // nothing listens on the discard port
    const writer = createRemoteWriter({
      config: config([url]),
      store,
      lease: new MemoryLease(),
      logger: { warn() {}, error: (_fields, message) => errors.push(message) },
    });
    expect(await writer.sendOnce()).toBe('failed');
    expect(received).toHaveLength(0);
    expect(writer.metricsText()).toContain('gateway_remote_write_snapshot_errors_total 1\n');
    expect(errors).toEqual(['remote write: no snapshot this interval (lease or store unavailable)']);
  }, 20_000);
});
