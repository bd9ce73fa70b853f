// The Workers build of the gateway (pushgateway/wrangler.toml) in real workerd with GATEWAY_REMOTE_WRITE_URL:
// the Durable Object sends its state on its alarm, with no request asking for it, to a real VictoriaMetrics.
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempDir, type RunningService, removeDir } from '../support/services/process.js';
import { queryPrometheus } from '../support/services/prometheus.js';
import { startVictoriaMetrics } from '../support/services/victoria-metrics.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';

const CONFIG = resolve(import.meta.dirname, '../../pushgateway/wrangler.toml');
let dir: string;
let victoria: RunningService;
let worker: RunningWorker;

beforeAll(async () => {
  dir = makeTempDir('gw-workerd-rw');
  victoria = await startVictoriaMetrics();
  const scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
  worker = await startWorker({
    config: CONFIG,
    scriptPath,
    bindings: { GATEWAY_REMOTE_WRITE_URL: `${victoria.url}/api/v1/write`, GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '1' },
  });
}, 180_000);
afterAll(async () => {
  await worker?.stop();
  await victoria?.stop();
  if (dir) removeDir(dir);
});

it('the Durable Object remote-writes the aggregated counter on its alarm', async () => {
  for (const delta of [3, 4]) {
    const response = await worker.dispatchFetch('http://gateway.test/aggregate/metrics/job/edge-alarm', {
      method: 'POST',
      body: `# TYPE alarm_hits_total counter\nalarm_hits_total ${delta}\n`,
    });
    expect(response.status).toBeLessThan(300);
  }
  await expect
    .poll(async () => (await queryPrometheus(victoria.url, 'alarm_hits_total{job="edge-alarm"}')).map((r) => r.value[1]), {
      timeout: 20_000,
      interval: 250,
    })
    .toEqual(['7']);
}, 60_000);

it("the Worker's /metrics carries the Durable Object's remote-write self-metrics", async () => {
  await expect
    .poll(
      async () => {
        const text = await (await worker.dispatchFetch('http://gateway.test/metrics')).text();
        return (
          /^prometheus_remote_storage_samples_total\{[^}]*\} ([1-9]\d*)$/m.test(text) && text.includes('gateway_remote_write_lease_held 1')
        );
      },
      { timeout: 20_000, interval: 250 },
    )
    .toBe(true);
}, 30_000);
