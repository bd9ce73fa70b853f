import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeDelimited } from '../test/support/protobuf-bodies.js';
import { createGatewayApp } from './app.js';
import { defaultGatewayConfig, type GatewayConfig } from './config/gateway.js';
import type { ExpositionFormat } from './core/exposition-format.js';
import { IDEMPOTENCY_KEY_HEAP_BYTES } from './core/idempotency.js';
import { parseTextExposition } from './core/text-parser.js';
import { memoryStoreOptions } from './store/create.js';
import { MemoryStore } from './store/memory.js';
import type { GatewayStore } from './store/types.js';

const protobufType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

function gateway(config: Partial<GatewayConfig> = {}, store: GatewayStore = new MemoryStore()) {
  let now = 1_700_000_000_000;
  const app = createGatewayApp({ store, config: { ...defaultGatewayConfig, ...config }, clock: () => (now += 1000) });
  const send = (method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}) =>
    app.request(path, { method, headers, ...(body === undefined ? {} : { body: body as BodyInit }) });
  return {
    app,
    store,
    send,
    metrics: async (accept?: string) => (await send('GET', '/metrics', undefined, accept ? { accept } : {})).text(),
  };
}

describe('gateway app: pushes', () => {
  it('answers 200 to PUT/POST and 202 to DELETE, and serves what was pushed', async () => {
    const { send, metrics } = gateway();
    expect((await send('PUT', '/metrics/job/api/instance/i1', '# TYPE up gauge\nup 1\n')).status).toBe(200);
    expect((await send('POST', '/metrics/job/api/instance/i1', '# TYPE other gauge\nother 2\n')).status).toBe(200);
    let text = await metrics();
    expect(text).toContain('up{instance="i1",job="api"} 1\n');
    expect(text).toContain('other{instance="i1",job="api"} 2\n');
    expect((await send('DELETE', '/metrics/job/api/instance/i1')).status).toBe(202);
    expect((await send('DELETE', '/metrics/job/never-pushed')).status).toBe(202);
    text = await metrics();
    expect(text).not.toContain('job="api"');
  });

  it('refuses a series past GATEWAY_MAX_LABEL_VALUE_BYTES or GATEWAY_MAX_LABELS_PER_SERIES with 400 naming the metric, storing nothing', async () => {
    const limits = { ...defaultGatewayConfig, maxLabelValueBytes: 16, maxLabelsPerSeries: 4 };
    const { send, metrics } = gateway(limits, new MemoryStore(memoryStoreOptions(limits)));
    const long = await send('PUT', '/metrics/job/big', `big_value{a="${'x'.repeat(17)}"} 1\n`);
    expect(long.status).toBe(400);
    expect(await long.json()).toEqual({ error: { code: 'invalid_push', message: expect.stringContaining('metric "big_value"') } });
    const many = await send('PUT', '/metrics/job/big', 'many_labels{a="1",b="2",c="3"} 1\n');
    expect(many.status).toBe(400);
    expect(await many.json()).toEqual({
      error: { code: 'invalid_push', message: expect.stringContaining('GATEWAY_MAX_LABELS_PER_SERIES=4') },
    });
    const text = await metrics();
    expect(text).not.toContain('big_value');
    expect(text).not.toContain('many_labels');
  });

  it('bounds the remembered Idempotency-Keys by GATEWAY_MAX_IDEMPOTENCY_BYTES and counts the keys forgotten early', async () => {
    const config = { ...defaultGatewayConfig, maxIdempotencyBytes: 2 * IDEMPOTENCY_KEY_HEAP_BYTES };
    const { send, metrics } = gateway(config, new MemoryStore(memoryStoreOptions(config)));
    expect(await metrics()).toContain('gateway_idempotency_keys_evicted_total 0\n');
    for (const key of ['k1', 'k2', 'k3'])
      expect(
        (await send('POST', '/aggregate/metrics/job/keyed', '# TYPE kept_total counter\nkept_total 1\n', { 'idempotency-key': key }))
          .status,
      ).toBe(200);
    expect(await metrics()).toContain('gateway_idempotency_keys_evicted_total 1\n');
    // k3 is still remembered; k1, the oldest, was forgotten and applies again.
    expect(
      (
        await send('POST', '/aggregate/metrics/job/keyed', '# TYPE kept_total counter\nkept_total 1\n', { 'idempotency-key': 'k3' })
      ).headers.get('idempotent-replayed'),
    ).toBe('true');
    expect(
      (
        await send('POST', '/aggregate/metrics/job/keyed', '# TYPE kept_total counter\nkept_total 1\n', { 'idempotency-key': 'k1' })
      ).headers.get('idempotent-replayed'),
    ).toBeNull();
  });

  it('answers 405 to other methods on a group URL', async () => {
    const { send } = gateway();
    const response = await send('GET', '/metrics/job/a');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('DELETE, POST, PUT');
  });

  it('reads base64 grouping values and empty ones', async () => {
    const { send, metrics } = gateway();
    expect((await send('PUT', `/metrics/job@base64/${Buffer.from('a/b').toString('base64url')}/path@base64/=`, 'm 1\n')).status).toBe(200);
    expect(await metrics()).toContain('m{instance="",job="a/b",path=""} 1\n');
  });

  it('answers 400 with a JSON error naming the problem, and stores nothing', async () => {
    const { send, store } = gateway();
    const cases: Array<[string, string, string]> = [
      ['/metrics/job/a/foo', 'm 1\n', 'invalid_grouping'],
      ['/metrics/job/a/__x/1', 'm 1\n', 'invalid_grouping'],
      ['/metrics/job/a', 'm 1', 'invalid_body'],
      ['/metrics/job/a', 'm{__x="1"} 1\n', 'invalid_push'],
      ['/metrics/job/a', 'm 1 1700000000000\n', 'invalid_push'],
    ];
    for (const [path, body, code] of cases) {
      const response = await send('PUT', path, body);
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe(code);
      expect(json.error.message.length).toBeGreaterThan(5);
    }
    expect((await store.stats(0)).series).toBe(0);
    const line = (await (await send('PUT', '/metrics/job/a', 'ok 1\nbad line\n')).json()) as { error: { message: string } };
    expect(line.error.message).toBe('text format parsing error in line 2: expected float as value, got "line"');
  });

  it('accepts gzip and delimited protobuf bodies', async () => {
    const { send, metrics } = gateway();
    expect((await send('PUT', '/metrics/job/gz', gzipSync('# TYPE g gauge\ng 4\n'), { 'content-encoding': 'gzip' })).status).toBe(200);
    const body = encodeDelimited([
      { name: 'pb_total', help: 'from protobuf', type: 'counter', metrics: [{ labels: { a: 'x' }, value: 7 }] },
    ]);
    expect((await send('PUT', '/metrics/job/pb', body, { 'content-type': protobufType })).status).toBe(200);
    const text = await metrics();
    expect(text).toContain('g{instance="",job="gz"} 4\n');
    expect(text).toContain('# HELP pb_total from protobuf\n# TYPE pb_total counter\npb_total{a="x",instance="",job="pb"} 7\n');
  });

  it('answers 413 to a body over the limit and 429 past the series limit, storing nothing', async () => {
    const { send, store } = gateway({ maxBodyBytes: 64 }, new MemoryStore({ maxSeries: 1 }));
    expect((await send('PUT', '/metrics/job/a', `m{x="${'a'.repeat(100)}"} 1\n`)).status).toBe(413);
    expect((await send('PUT', '/metrics/job/a', 'm{x="1"} 1\nm{x="2"} 1\n')).status).toBe(429);
    expect((await store.stats(0)).groups).toBe(0);
  });

  it('answers 429 past GATEWAY_MAX_STORED_BYTES, storing nothing, and reports the bytes held', async () => {
    const config = { ...defaultGatewayConfig, maxStoredBytes: 300 };
    const { send, metrics } = gateway(config, new MemoryStore(memoryStoreOptions(config)));
    expect((await send('PUT', '/metrics/job/a', 'small 1\n')).status).toBe(200);
    const before = await metrics();
    for (const path of ['/metrics/job/big', '/aggregate/metrics/job/big']) {
      const refused = await send('PUT', path, `# TYPE big gauge\nbig{v="${'x'.repeat(200)}"} 1\nbig{v="${'y'.repeat(200)}"} 1\n`);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({
        error: { code: 'store_full', message: expect.stringContaining('GATEWAY_MAX_STORED_BYTES=300') },
      });
    }
    const after = await metrics();
    expect(after).not.toContain('big');
    expect(after.match(/^gateway_stored_bytes (\d+)$/m)?.[1]).toBe(before.match(/^gateway_stored_bytes (\d+)$/m)?.[1]);
    expect(Number(after.match(/^gateway_stored_bytes (\d+)$/m)?.[1])).toBeGreaterThan(0);
  });

  it('requires the push token on writes when one is configured', async () => {
    const { send } = gateway({ pushToken: 'secret' });
    expect((await send('PUT', '/metrics/job/a', 'm 1\n')).status).toBe(401);
    expect((await send('PUT', '/metrics/job/a', 'm 1\n', { authorization: 'Bearer secret' })).status).toBe(200);
  });
});

describe('gateway app: reads', () => {
  it('serves text 0.0.4 by default and OpenMetrics when asked, with its own metrics', async () => {
    const { send } = gateway();
    await send('PUT', '/metrics/job/a', '# TYPE c_total counter\nc_total 1\n');
    await send('PUT', '/metrics/job/a/x', 'm 1\n');
    const text = await send('GET', '/metrics');
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await text.text();
    expect(body).toContain('pushgateway_http_requests_total{code="200",handler="push",method="put"} 1\n');
    expect(body).toContain('pushgateway_http_requests_total{code="400",handler="push",method="put"} 1\n');
    expect(body).toContain('gateway_groups 1\n');
    expect(body).toContain('gateway_series 1\n');
    expect(body).toContain('gateway_pushes_deduplicated_total 0\n');
    expect(body).toMatch(/^push_time_seconds\{instance="",job="a"\} 1\.7000000\d+e\+09$/m);
    const om = await send('GET', '/metrics', undefined, {
      accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
    });
    expect(om.headers.get('content-type')).toContain('application/openmetrics-text');
    const omBody = await om.text();
    expect(omBody).toContain('# TYPE c counter\nc_total{instance="",job="a"} 1\n');
    expect(omBody.endsWith('# EOF\n')).toBe(true);
  });

  it('gzips /metrics when the scraper accepts it', async () => {
    const { send } = gateway();
    await send('PUT', '/metrics/job/a', Array.from({ length: 100 }, (_, i) => `m{i="${i}"} ${i}\n`).join(''));
    const response = await send('GET', '/metrics', undefined, { 'accept-encoding': 'gzip' });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const text = gunzipSync(Buffer.from(await response.arrayBuffer())).toString('utf8');
    expect(text).toContain('m{i="99",instance="",job="a"} 99\n');
    expect((await send('GET', '/metrics')).headers.get('content-encoding')).toBeNull();
  });

  it('serves the official JSON API, health and readiness', async () => {
    const { send } = gateway();
    await send(
      'PUT',
      '/metrics/job/j/instance/i',
      '# HELP m help me\n# TYPE m counter\nm{a="1"} 3\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n',
    );
    // biome-ignore lint/suspicious/noExplicitAny: the official API's JSON, asserted field by field below
    const api = (await (await send('GET', '/api/v1/metrics')).json()) as { status: string; data: Array<Record<string, any>> };
    expect(api.status).toBe('success');
    const group = api.data[0]!;
    expect(group.labels).toEqual({ job: 'j', instance: 'i' });
    expect(group.last_push_successful).toBe(true);
    expect(group.m).toMatchObject({
      type: 'COUNTER',
      help: 'help me',
      metrics: [{ labels: { a: '1', instance: 'i', job: 'j' }, value: '3' }],
    });
    expect(group.h.metrics[0]).toMatchObject({ buckets: { '1': '1', '+Inf': '2' }, count: '2', sum: '3' });
    expect(group.push_time_seconds.type).toBe('GAUGE');
    const status = (await (await send('GET', '/api/v1/status')).json()) as { status: string; data: { flags: Record<string, string> } };
    expect(status.data.flags['web.enable-admin-api']).toBe('false');
    expect(JSON.stringify(status)).not.toContain('secret');
    expect(await (await send('GET', '/-/healthy')).text()).toBe('OK');
    expect((await send('GET', '/-/ready')).status).toBe(200);
  });

  it('wipes only when the admin API is enabled', async () => {
    const off = gateway();
    expect((await off.send('PUT', '/api/v1/admin/wipe')).status).toBe(404);
    const on = gateway({ enableAdminApi: true });
    await on.send('PUT', '/metrics/job/a', 'm 1\n');
    expect((await on.send('PUT', '/api/v1/admin/wipe')).status).toBe(202);
    expect((await on.store.stats(0)).groups).toBe(0);
  });
});

// A store whose backend is down (as Redis unreachable): every call fails.
class UnreachableStore implements GatewayStore {
  private fail(): never {
    throw new Error('connection refused');
  }
  apply = async () => this.fail();
  applyOtlp = async () => this.fail();
  deleteGroup = async () => this.fail();
  wipe = async () => this.fail();
  groups = async () => this.fail();
  stats = async () => this.fail();
  close = async () => {};
}

/** A memory store whose scrape rendering fails while `failing` is set (as V8 does past its longest string). */
class RenderFailingStore extends MemoryStore {
  failing = true;
  override async exposition(nowMs: number, format: ExpositionFormat): Promise<string> {
    if (this.failing) throw new RangeError('Invalid string length');
    return super.exposition(nowMs, format);
  }
}

describe('gateway app: readiness tells whether a scrape would succeed', () => {
  it('answers 503 while the store holds more than GATEWAY_MAX_STORED_BYTES (a snapshot loaded under a lower bound)', async () => {
    const big = new MemoryStore();
    await big.apply({
      mode: 'replace',
      grouping: { job: 'a' },
      families: parseTextExposition(`m{v="${'x'.repeat(500)}"} 1\n`).families,
      nowMs: 1,
    });
    const config = { ...defaultGatewayConfig, maxStoredBytes: 200 };
    const store = new MemoryStore(memoryStoreOptions(config));
    store.restore(big.snapshot(1));
    const { send } = gateway(config, store);
    const ready = await send('GET', '/-/ready');
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/more than GATEWAY_MAX_STORED_BYTES=200/);
    expect((await send('GET', '/metrics')).status).toBe(200); // what it holds is still served
    await send('DELETE', '/metrics/job/a');
    expect((await send('GET', '/-/ready')).status).toBe(200);
  });

  it('answers 503 once a scrape failed to render, until rendering works again', async () => {
    const store = new RenderFailingStore();
    const { send } = gateway({}, store);
    expect((await send('GET', '/-/ready')).status).toBe(200);
    expect((await send('GET', '/metrics')).status).toBe(503);
    const ready = await send('GET', '/-/ready');
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe('scrapes fail: Invalid string length');
    store.failing = false;
    expect((await send('GET', '/-/ready')).status).toBe(200);
  });
});

describe('gateway app: a store that is down', () => {
  it('answers 503 to pushes, deletes, scrapes and readiness, logs the failures, and stays healthy', async () => {
    const logged: string[] = [];
    const app = createGatewayApp({
      store: new UnreachableStore(),
      config: defaultGatewayConfig,
      log: { debug: () => {}, warn: () => {}, error: (_fields, message) => logged.push(message) },
    });
    const send = (method: string, path: string, body?: string) => app.request(path, { method, ...(body === undefined ? {} : { body }) });
    const push = await send('PUT', '/metrics/job/a', 'm 1\n');
    expect(push.status).toBe(503);
    expect(((await push.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect(push.headers.get('retry-after')).toBe('5');
    expect((await send('DELETE', '/metrics/job/a')).status).toBe(503);
    expect((await send('GET', '/metrics')).status).toBe(503);
    expect((await send('GET', '/api/v1/metrics')).status).toBe(503);
    expect((await send('GET', '/-/ready')).status).toBe(503);
    expect((await send('GET', '/-/healthy')).status).toBe(200);
    expect(logged.filter((line) => line.includes('gateway store failed'))).toHaveLength(4); // readiness probes answer 503 without logging
  });
});
