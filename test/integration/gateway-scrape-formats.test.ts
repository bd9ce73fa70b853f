// A real Prometheus 2.42 scraping our gateway in each format it negotiates: with native histograms enabled it
// asks for delimited protobuf first, otherwise for OpenMetrics. A recording proxy between them shows which
// format was asked for and served; PromQL reads back exactly what was pushed.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway, type RunningGateway } from '../../pushgateway/server.js';
import { queryPrometheus, startPrometheus, waitUntil, type RunningService } from '../support/services/index.js';

let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startGateway({
    config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1' }),
    logger: createGatewayLogger('silent'),
  });
  const pushed = await fetch(`${gateway.url}/metrics/job/batch/instance/w1`, {
    method: 'PUT',
    body:
      '# TYPE items_total counter\nitems_total{kind="a"} 42\n# TYPE temp gauge\ntemp -3.25\n' +
      '# TYPE lat histogram\nlat_bucket{le="0.5"} 3\nlat_bucket{le="1"} 5\nlat_bucket{le="+Inf"} 6\nlat_sum 4.5\nlat_count 6\n' +
      '# TYPE rt summary\nrt{quantile="0.9"} 0.8\nrt_sum 12\nrt_count 30\n',
  });
  expect(pushed.status).toBe(200);
});

afterAll(async () => {
  await gateway?.stop();
});

/** Forwards to the gateway, remembering each scrape's Accept and the Content-Type answered. */
async function recordingProxy(
  target: number,
): Promise<{ server: Server; port: number; seen: Array<{ accept: string; contentType: string }> }> {
  const seen: Array<{ accept: string; contentType: string }> = [];
  const server = createServer((req, res) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      seen.push({ accept: String(req.headers.accept), contentType: String(answer.headers['content-type']) });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

async function scrapeWith(extraArgs: string[]) {
  const proxy = await recordingProxy(gateway.port);
  let prometheus: RunningService | undefined;
  try {
    prometheus = await startPrometheus({
      config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${proxy.port}']\n`,
      extraArgs,
    });
    const url = prometheus.url;
    await waitUntil(async () => (await queryPrometheus(url, 'items_total')).length > 0, {
      timeoutMs: 45_000,
      intervalMs: 500,
      what: 'the pushed counter in Prometheus',
    });
    const value = async (query: string) => (await queryPrometheus(url, query))[0]?.value[1];
    return {
      seen: proxy.seen,
      counter: await queryPrometheus(url, 'items_total'),
      gauge: await value('temp{job="batch"}'),
      // From protobuf, Prometheus writes the bound as an OpenMetrics float ("1.0"); from text it keeps "1".
      bucket: await value('lat_bucket{job="batch",le=~"1|1\\\\.0"}'),
      histogramCount: await value('lat_count{job="batch"}'),
      quantile: await value('rt{job="batch",quantile="0.9"}'),
      summarySum: await value('rt_sum{job="batch"}'),
      pushTime: Number(await value('push_time_seconds{job="batch",instance="w1"}')),
    };
  } finally {
    await prometheus?.stop();
    proxy.server.closeAllConnections();
    await new Promise((resolve) => proxy.server.close(resolve));
  }
}

const expectPushedValues = (result: Awaited<ReturnType<typeof scrapeWith>>) => {
  expect(result.counter).toEqual([
    { metric: { __name__: 'items_total', job: 'batch', instance: 'w1', kind: 'a' }, value: [expect.any(Number), '42'] },
  ]);
  expect(result).toMatchObject({ gauge: '-3.25', bucket: '5', histogramCount: '6', quantile: '0.8', summarySum: '12' });
  expect(result.pushTime).toBeGreaterThan(1.6e9);
};

describe('Prometheus 2.42 scraping the gateway', () => {
  it('negotiates delimited protobuf with native histograms enabled and reads the pushed values', async () => {
    const result = await scrapeWith(['--enable-feature=native-histograms']);
    expect(result.seen[0]?.accept).toMatch(
      /^application\/vnd\.google\.protobuf;proto=io\.prometheus\.client\.MetricFamily;encoding=delimited/,
    );
    expect(result.seen[0]?.contentType).toBe(
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    );
    expectPushedValues(result);
  }, 90_000);

  it('negotiates OpenMetrics by default and reads the same values', async () => {
    const result = await scrapeWith([]);
    expect(result.seen[0]?.accept).toMatch(/^application\/openmetrics-text/);
    expect(result.seen[0]?.contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expectPushedValues(result);
  }, 90_000);
});
