// Cardinality: a scan of 10,000 random unknown URLs must not create 10,000 series. The real app (createApp over real
// PostgreSQL, every middleware on) with the request-metrics middleware, driven in process through app.fetch (no
// sockets: the property is about labels, and 10,000 HTTP round trips would only measure the machine), pushed by the
// real pusher to our gateway, whose exposition is then read back.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { createPostgresDatabase } from '../../api/db/postgres.js';
import { migratePostgresDatabase } from '../../api/db/migrate.js';
import type { Database } from '../../api/db/types.js';
import { createApiMetrics } from '../../api/observability/metrics.js';
import { instrumentPostgresClient } from '../../api/observability/query-timing.js';
import { requestMetrics } from '../../api/observability/request-metrics.js';
import { MetricsPusher } from '../../pushgateway/client/index.js';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway, type RunningGateway } from '../../pushgateway/server.js';
import { startPostgres, type RunningPostgres } from '../support/services/index.js';

let pg: RunningPostgres;
let database: Database;
let gateway: RunningGateway;

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase('cardinality');
  await migratePostgresDatabase(url);
  gateway = await startGateway({
    config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1' }),
    logger: createGatewayLogger('warn'),
  });
  const metrics = createApiMetrics();
  database = createPostgresDatabase(url, { wrapClient: (raw) => instrumentPostgresClient(raw, metrics) });
  Object.assign(globalThis, { __cardinalityMetrics: metrics });
});
afterAll(async () => {
  await database?.close();
  await gateway?.stop();
  await pg?.stop();
});

async function endpointValues(): Promise<Map<string, number>> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_requests_total{')) continue;
    const endpoint = /endpoint="([^"]*)"/.exec(line)![1]!;
    values.set(endpoint, (values.get(endpoint) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return values;
}

describe('endpoint cardinality', () => {
  it('10,000 requests to random unknown paths add at most one endpoint value', async () => {
    const metrics = (globalThis as unknown as { __cardinalityMetrics: ReturnType<typeof createApiMetrics> }).__cardinalityMetrics;
    const app = createApp({
      database,
      logger: pino({ level: 'silent' }),
      middleware: [requestMetrics(metrics)],
      settings: { rateLimit: { max: 1_000_000, windowSeconds: 60 } },
    });
    const pusher = new MetricsPusher({
      registry: metrics.registry,
      url: gateway.url,
      job: 'api',
      instance: 'cardinality-test',
      logger: { info() {}, warn() {}, error() {} },
    });

    for (const path of ['/livez', '/api/users', '/api/users/0190a0a0-0000-7000-8000-000000000001'])
      expect((await app.request(path)).status).toBeLessThan(500);
    expect((await pusher.push()).acknowledged).toBe(1);
    const before = await endpointValues();
    expect(before.size).toBe(3);

    const methods = ['GET', 'POST', 'DELETE', 'PROPFIND'];
    for (let i = 0; i < 10_000; i++) {
      const path = `/${crypto.randomUUID()}/${Math.random().toString(36).slice(2)}${i % 7 === 0 ? '/../admin?x=1' : ''}`;
      const response = await app.request(path, { method: methods[i % methods.length]! });
      expect(response.status).toBe(404);
    }
    const report = await pusher.push();
    expect(report.acknowledged).toBeGreaterThanOrEqual(1);
    expect(report.unsent).toBe(false);

    const after = await endpointValues();
    const added = [...after.keys()].filter((endpoint) => !before.has(endpoint));
    expect(added).toEqual(['unmatched']);
    expect(after.get('unmatched')).toBe(10_000);
    const series = (await (await fetch(`${gateway.url}/metrics`)).text())
      .split('\n')
      .filter((line) => line.startsWith('http_requests_total{'));
    // One series per (method, status) for the shared endpoint: GET, POST, DELETE and OTHER, all 404.
    expect(series.filter((line) => line.includes('endpoint="unmatched"'))).toHaveLength(4);
  });
});
