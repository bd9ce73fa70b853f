// Remote write from workerd to a real VictoriaMetrics: metrics pushed to a gateway in a Worker are sent by
// sendOnce (what the Durable Object's alarm calls) and read back with PromQL.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../support/services/process.js';
import { queryPrometheus } from '../support/services/prometheus.js';
import { startVictoriaMetrics } from '../support/services/victoria-metrics.js';
import { startWorker, type RunningWorker } from '../support/services/workerd.js';

const fixture = join(import.meta.dirname, '..', 'support', 'remote-write-worker', 'wrangler.toml');

describe('remote write in workerd', () => {
  let victoria: RunningService;
  let worker: RunningWorker;

  beforeAll(async () => {
    victoria = await startVictoriaMetrics();
    worker = await startWorker({
      config: fixture,
      bindings: { GATEWAY_REMOTE_WRITE_URL: `${victoria.url}/api/v1/write`, GATEWAY_REMOTE_WRITE_HEADERS: 'X-Scope-OrgID: edge' },
    });
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await victoria?.stop();
  });

  it('sends the aggregated counters, and /metrics shows the remote-write self-metrics', async () => {
    for (const delta of [2, 5]) {
      const response = await worker.dispatchFetch('http://worker/aggregate/metrics/job/edge', {
        method: 'POST',
        body: `# TYPE edge_hits_total counter\nedge_hits_total{colo="ams"} ${delta}\n`,
      });
      expect(response.status).toBeLessThan(300);
    }
    const sent = await worker.dispatchFetch('http://worker/remote-write/send');
    expect(await sent.json()).toEqual({ outcome: 'queued' });
    await expect
      .poll(async () => (await queryPrometheus(victoria.url, 'edge_hits_total{job="edge"}')).map((r) => [r.metric.colo, r.value[1]]), {
        timeout: 15_000,
        interval: 200,
      })
      .toEqual([['ams', '7']]);
    const metrics = await (await worker.dispatchFetch('http://worker/metrics')).text();
    expect(metrics).toContain(`prometheus_remote_storage_samples_total{url="${victoria.url}/api/v1/write"} 3\n`);
    expect(metrics).toContain(`prometheus_remote_storage_samples_failed_total{url="${victoria.url}/api/v1/write"} 0\n`);
  }, 30_000);
});
