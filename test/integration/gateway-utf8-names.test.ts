// UTF-8 names end to end with a real scraper that knows nothing of them: Prometheus 2.42 sends no `escaping`
// parameter, so the gateway must serve `underscores`-escaped names (prometheus/docs escaping_schemes.md, "Default
// Behavior") in OpenMetrics and in protobuf, and Prometheus must store them under those names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { queryPrometheus, type RunningService, startPrometheus, waitUntil } from '../support/services/index.js';

let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startGateway({
    config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_ENABLE_UTF8_NAMES: 'true' }),
    logger: createGatewayLogger('silent'),
  });
  const pushed = await fetch(`${gateway.url}/metrics/job/edge/U__zone_2e_name/eu`, {
    method: 'PUT',
    body: '# TYPE "my.requests_total" counter\n{"my.requests_total","http.method"="GET"} 3\n# TYPE "cpu.temp" gauge\n{"cpu.temp"} 41.5\n',
  });
  expect(pushed.status).toBe(200);
});

afterAll(async () => {
  await gateway?.stop();
});

async function scrapedByPrometheus(extraArgs: string[]) {
  let prometheus: RunningService | undefined;
  try {
    prometheus = await startPrometheus({
      config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${gateway.port}']\n`,
      extraArgs,
    });
    const url = prometheus.url;
    await waitUntil(async () => (await queryPrometheus(url, 'cpu_temp')).length > 0, {
      timeoutMs: 45_000,
      intervalMs: 500,
      what: 'the escaped gauge in Prometheus',
    });
    return { counter: await queryPrometheus(url, 'my_requests_total'), gauge: await queryPrometheus(url, 'cpu_temp') };
  } finally {
    await prometheus?.stop();
  }
}

const expectEscaped = (result: Awaited<ReturnType<typeof scrapedByPrometheus>>) => {
  expect(result.counter).toEqual([
    {
      metric: { __name__: 'my_requests_total', http_method: 'GET', job: 'edge', zone_name: 'eu' },
      value: [expect.any(Number), '3'],
    },
  ]);
  expect(result.gauge.map((s) => s.value[1])).toEqual(['41.5']);
};

describe('Prometheus 2.42 scraping UTF-8 names it cannot take', () => {
  it('reads them underscore-escaped from OpenMetrics', async () => {
    expectEscaped(await scrapedByPrometheus([]));
  }, 90_000);

  it('reads them underscore-escaped from protobuf', async () => {
    expectEscaped(await scrapedByPrometheus(['--enable-feature=native-histograms']));
  }, 90_000);
});
