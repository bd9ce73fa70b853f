// The Node gateway started as in production (startGateway over GATEWAY_* variables) remote-writes its store
// to a real VictoriaMetrics on the configured interval, and shows the sender's self-metrics on /metrics.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { type RunningService, waitUntil } from '../support/services/process.js';
import { queryPrometheus } from '../support/services/prometheus.js';
import { startVictoriaMetrics } from '../support/services/victoria-metrics.js';

let victoria: RunningService;
let gateway: RunningGateway;

beforeAll(async () => {
  victoria = await startVictoriaMetrics();
  gateway = await startGateway({
    config: loadGatewayConfig({
      GATEWAY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_REMOTE_WRITE_URL: `${victoria.url}/api/v1/write`,
      GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '1',
    }),
    logger: createGatewayLogger('silent'),
  });
}, 90_000);
afterAll(async () => {
  await gateway?.stop();
  await victoria?.stop();
});

it('a counter pushed to /aggregate arrives at the receiver summed, and /metrics shows the remote-write self-metrics', async () => {
  const job = `gwrw${Date.now().toString(36)}`;
  for (const delta of [2, 5]) {
    const response = await fetch(`${gateway.url}/aggregate/metrics/job/${job}`, {
      method: 'POST',
      body: `# TYPE checkouts_total counter\ncheckouts_total ${delta}\n`,
    });
    expect(response.status).toBeLessThan(300);
  }

  let value: number | undefined;
  await waitUntil(
    async () => {
      const [result] = await queryPrometheus(victoria.url, `checkouts_total{job="${job}"}`);
      value = result ? Number(result.value[1]) : undefined;
      return value === 7;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'checkouts_total at VictoriaMetrics' },
  ).catch(() => expect(value).toBe(7));

  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  const url = `${victoria.url}/api/v1/write`;
  expect(metrics).toMatch(new RegExp(`^prometheus_remote_storage_samples_total\\{url="${url}"\\} [1-9]`, 'm'));
  expect(metrics).toContain(`prometheus_remote_storage_samples_failed_total{url="${url}"} 0\n`);
  expect(metrics).toContain('gateway_remote_write_lease_held 1\n');
  // The app's own series are still there next to the sender's.
  expect(metrics).toContain('process_');
}, 60_000);
