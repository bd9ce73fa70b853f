// UTF-8 metric and label names (GATEWAY_ENABLE_UTF8_NAMES, as the official 1.11 --push.enable-utf8-names):
// accepted in text and protobuf bodies and, `U__`-escaped, in the URL path (official README "UTF-8 support for
// metric and label names", handler/push.go splitLabels); scraped as they are by a scraper that asks for
// `escaping=allow-utf-8`, escaped by the scheme it names otherwise, `underscores` by default
// (prometheus/docs escaping_schemes.md; prometheus/common expfmt NegotiateAccept and EscapeMetricFamily).
import { describe, expect, it } from 'vitest';
import { encodeDelimited } from '../../test/support/protobuf-bodies.js';
import { createGatewayApp } from '../app.js';
import { defaultGatewayConfig } from '../config/gateway.js';
import { decodeDelimitedMetricFamilies } from '../core/protobuf.js';
import { memoryStoreOptions } from '../store/create.js';
import { MemoryStore } from '../store/memory.js';

const protobufType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const body = '# HELP "my.requests_total" Requests.\n# TYPE "my.requests_total" counter\n{"my.requests_total","http.method"="GET"} 3\n';

function gateway(enableUtf8Names: boolean) {
  const config = { ...defaultGatewayConfig, enableUtf8Names };
  const app = createGatewayApp({ store: new MemoryStore(memoryStoreOptions(config)), config, clock: () => 1_700_000_000_000 });
  const scrape = async (accept?: string) => {
    const response = await app.request('/metrics', accept === undefined ? {} : { headers: { accept } });
    return { text: await response.text(), contentType: response.headers.get('content-type') };
  };
  return { app, scrape };
}

describe('UTF-8 names off (the default)', () => {
  it('refuses UTF-8 names in text, protobuf and the URL with 400 and stores nothing', async () => {
    const { app, scrape } = gateway(false);
    expect((await app.request('/metrics/job/j', { method: 'PUT', body })).status).toBe(400);
    const protobuf = encodeDelimited([{ name: 'a.b', help: undefined, type: 'gauge', metrics: [{ labels: {}, value: 1 }] }]);
    const refused = await app.request('/metrics/job/j', {
      method: 'PUT',
      body: Buffer.from(protobuf),
      headers: { 'content-type': protobufType },
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('invalid metric name \\"a.b\\"');
    expect((await app.request('/metrics/job/j/zone.name/eu', { method: 'PUT', body: 'x 1\n' })).status).toBe(400);
    // A refused push leaves only its group's push_failure_time_seconds behind, as the official does.
    expect((await scrape()).text).not.toMatch(/my.requests|a.b|zone/);
  });

  it('takes U__ in the path as a plain name, as the official does without the flag', async () => {
    const { app, scrape } = gateway(false);
    expect((await app.request('/metrics/job/j/U__zone_2e_name/eu', { method: 'PUT', body: 'x 1\n' })).status).toBe(200);
    expect((await scrape()).text).toContain('x{U__zone_2e_name="eu",instance="",job="j"} 1\n');
  });
});

describe('UTF-8 names on', () => {
  async function pushed() {
    const g = gateway(true);
    const response = await g.app.request('/metrics/job/j/U__zone_2e_name@base64/ZXU', { method: 'PUT', body });
    expect(response.status).toBe(200);
    return g;
  }

  it('serves escaped names (underscores) to a scraper that does not name an escaping, with the 1.5.1 Content-Type', async () => {
    const { scrape } = await pushed();
    const { text, contentType } = await scrape();
    expect(text).toContain('# HELP my_requests_total Requests.\n# TYPE my_requests_total counter\n');
    expect(text).toContain('my_requests_total{http_method="GET",instance="",job="j",zone_name="eu"} 3\n');
    expect(text).toContain('push_time_seconds{instance="",job="j",zone_name="eu"} 1.7e+09\n');
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('serves the names as pushed under escaping=allow-utf-8, quoted, and names the scheme in the Content-Type', async () => {
    const { scrape } = await pushed();
    const { text, contentType } = await scrape('text/plain;version=0.0.4;escaping=allow-utf-8');
    expect(text).toContain('# HELP "my.requests_total" Requests.\n# TYPE "my.requests_total" counter\n');
    expect(text).toContain('{"my.requests_total","http.method"="GET",instance="",job="j","zone.name"="eu"} 3\n');
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8');
  });

  it('escapes by the scheme the scraper names, and the render cache serves each scheme its own text', async () => {
    const { scrape } = await pushed();
    expect((await scrape('text/plain;escaping=values')).text).toContain(
      'U__my_2e_requests__total{U__http_2e_method="GET",U__zone_2e_name="eu",instance="",job="j"} 3\n',
    );
    expect((await scrape('text/plain;escaping=dots')).text).toContain('my_dot_requests__total{http_dot_method="GET"');
    expect((await scrape('text/plain;escaping=allow-utf-8')).text).toContain('{"my.requests_total"');
    expect((await scrape()).text).toContain('my_requests_total{http_method="GET"');
  });

  it('writes OpenMetrics with quoted names and the counter stem', async () => {
    const { scrape } = await pushed();
    const { text } = await scrape('application/openmetrics-text;version=1.0.0;escaping=allow-utf-8');
    expect(text).toContain('# TYPE "my.requests" counter\n# HELP "my.requests" Requests.\n');
    expect(text).toContain('{"my.requests_total","http.method"="GET",instance="",job="j","zone.name"="eu"} 3\n');
  });

  it('serves protobuf scrapes with raw names under allow-utf-8 and escaped ones otherwise', async () => {
    const { app } = await pushed();
    const families = async (accept: string) => {
      const response = await app.request('/metrics', { headers: { accept } });
      return decodeDelimitedMetricFamilies(new Uint8Array(await response.arrayBuffer())).families.map((f) => ({
        name: f.name,
        labels: f.metrics.map((m) => Object.keys(m.labels).sort()),
      }));
    };
    const protobufAccept = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';
    expect(await families(`${protobufAccept};escaping=allow-utf-8`)).toContainEqual({
      name: 'my.requests_total',
      labels: [['http.method', 'instance', 'job', 'zone.name']],
    });
    expect(await families(protobufAccept)).toContainEqual({
      name: 'my_requests_total',
      labels: [['http_method', 'instance', 'job', 'zone_name']],
    });
  });

  it('accepts UTF-8 names in protobuf bodies and keeps them in /api/v1/metrics', async () => {
    const { app, scrape } = gateway(true);
    const protobuf = encodeDelimited([
      { name: 'cpu.temp', help: 'Temperature.', type: 'gauge', metrics: [{ labels: { 'sensor.id': 'a' }, value: 41.5 }] },
    ]);
    const response = await app.request('/metrics/job/j', {
      method: 'PUT',
      body: Buffer.from(protobuf),
      headers: { 'content-type': protobufType },
    });
    expect(response.status).toBe(200);
    expect((await scrape('text/plain;escaping=allow-utf-8')).text).toContain('{"cpu.temp",instance="",job="j","sensor.id"="a"} 41.5\n');
    const api = (await (await app.request('/api/v1/metrics')).json()) as { data: Array<Record<string, { metrics: unknown[] }>> };
    expect(api.data[0]!['cpu.temp']!.metrics).toEqual([{ labels: { instance: '', job: 'j', 'sensor.id': 'a' }, value: '41.5' }]);
  });

  it('tells one series from another when a name holds a brace, and refuses the same series from two groups', async () => {
    const { app, scrape } = gateway(true);
    const put = (path: string, text: string) => app.request(path, { method: 'PUT', body: text });
    expect((await put('/metrics/job/a/instance/i', '{"x{y",l="1"} 1\n')).status).toBe(200);
    expect((await put('/metrics/job/b/instance/i', '{"x",y="1"} 2\n')).status).toBe(200);
    const clash = await put('/metrics/job/a/instance/i/extra/1', '{"x{y",l="1",job="a",instance="i"} 3\n');
    expect(clash.status).toBe(200); // a different group: its grouping labels make it a different series
    const text = (await scrape('text/plain;escaping=allow-utf-8')).text;
    expect(text).toContain('{"x{y",instance="i",job="a",l="1"} 1\n');
    expect(text).toContain('x{instance="i",job="b",y="1"} 2\n');
  });

  it('shows the setting in /api/v1/status', async () => {
    const { app } = gateway(true);
    const status = (await (await app.request('/api/v1/status')).json()) as { data: { flags: Record<string, string> } };
    expect(status.data.flags['push.enable-utf8-names']).toBe('true');
  });
});
