// The Workers gateway with 2 Durable Object shards in real workerd, one of which does not answer the family type
// check across shards (test/support/silent-shard-worker: the real objects, one made silent for a minute): a push
// that needs the check is answered 503 with Retry-After once the check's deadline passes, stores nothing, and is
// counted; pushes that need no answer from the silent shard go through. Without the deadline these pushes would
// wait out the silence, past the tests' own timeouts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupKey } from '../../pushgateway/core/grouping.js';
import { shardOf } from '../../pushgateway/store/durable-object-shards.js';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';

const CONFIG = join(import.meta.dirname, '..', 'support', 'silent-shard-worker', 'wrangler.toml');
const SHARDS = 2;
let dir: string;
let scriptPath: string;

beforeAll(async () => {
  dir = makeTempDir('gw-workerd-silent-shard');
  scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
}, 180_000);
afterAll(() => {
  if (dir) removeDir(dir);
});

/** An instance label whose group {job="silent", instance} lives on `shard`. */
const instanceOn = (shard: number, tag: string) => {
  for (let i = 0; ; i++) if (shardOf(groupKey({ job: 'silent', instance: `${tag}${i}` }), SHARDS) === shard) return `${tag}${i}`;
};

/** A gateway whose shard `silent` does not answer; `claimant` is where the pushes that need the check go. */
function withSilentShard(silent: number, claimant: number, who: string, more?: (request: Fetch) => void) {
  describe(`shard ${silent} does not answer: ${who}`, () => {
    let worker: RunningWorker;
    beforeAll(async () => {
      worker = await startWorker({
        config: CONFIG,
        scriptPath,
        bindings: { GATEWAY_DO_SHARDS: String(SHARDS), SILENT_SHARD: String(silent) },
      });
    }, 120_000);
    afterAll(async () => {
      await worker?.stop();
    });
    const request: Fetch = (path, init) => worker.dispatchFetch(`http://gateway.test${path}`, init);

    it('answers 503 with Retry-After to pushes (text, /aggregate, OTLP) that need the check, stores nothing, and counts them', async () => {
      const instance = instanceOn(claimant, 'new');
      const pushed = await request(`/metrics/job/silent/instance/${instance}`, {
        method: 'PUT',
        body: '# TYPE silent_new_total counter\nsilent_new_total 3\n',
      });
      expect(pushed.status).toBe(503);
      expect(pushed.headers.get('retry-after')).toBe('5');
      expect(await pushed.json()).toEqual({
        error: { code: 'store_unavailable', message: 'the gateway store is unavailable; nothing was changed, retry later' },
      });
      const aggregated = await request(`/aggregate/metrics/job/silent/instance/${instance}`, {
        method: 'POST',
        body: '# TYPE silent_new_total counter\nsilent_new_total 3\n',
      });
      expect(aggregated.status).toBe(503);
      const otlp = await request('/v1/metrics', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceMetrics: [
            {
              resource: {
                attributes: [
                  { key: 'service.name', value: { stringValue: 'silent' } },
                  { key: 'service.instance.id', value: { stringValue: instance } },
                ],
              },
              scopeMetrics: [{ metrics: [{ name: 'silent_new_total', gauge: { dataPoints: [{ asDouble: 3, timeUnixNano: '1' }] } }] }],
            },
          ],
        }),
      });
      expect([otlp.status, otlp.headers.get('retry-after')]).toEqual([503, '5']);
      const text = await (await request('/metrics')).text();
      expect(text).not.toContain('silent_new_total');
      expect(text).not.toContain(`instance="${instance}"`);
      expect(text).toContain(`gateway_family_check_failures_total{shard="${claimant}"} 3\n`);
      expect(text).toContain(`gateway_family_check_failures_total{shard="${silent}"} 0\n`);
      expect(worker.output()).toContain(`shard ${silent} did not answer the family type check within`);
    }, 30_000);

    more?.(request);
  });
}

type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

withSilentShard(1, 0, 'another shard, so shard 0 gives up on it', (request) => {
  it('accepts a push to the silent shard itself, whose claim asks every shard but the claimant', async () => {
    const instance = instanceOn(1, 'own');
    const pushed = await request(`/metrics/job/silent/instance/${instance}`, {
      method: 'PUT',
      body: '# TYPE silent_own gauge\nsilent_own 7\n',
    });
    expect(pushed.status).toBe(200);
    expect(await (await request('/metrics')).text()).toContain(`silent_own{instance="${instance}",job="silent"} 7\n`);
  }, 30_000);
});

withSilentShard(0, 1, 'shard 0, so the claimant gives up on it');
