import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.js';
import { loadGatewayConfig } from '../config/gateway.js';
import { parseGroupingPath } from '../core/grouping.js';
import { GATEWAY_GROUP_FIELD } from '../http/read.js';
import { MemoryStore } from '../store/memory.js';
import { groupUrl } from './page.js';

const basic = `Basic ${btoa('reader:secret')}`;

describe('the web page', () => {
  const app = () =>
    createGatewayApp({
      store: new MemoryStore(),
      config: loadGatewayConfig({
        GATEWAY_PUSH_TOKEN: 'tok',
        GATEWAY_SCRAPE_USER: 'reader',
        GATEWAY_SCRAPE_PASSWORD: 'secret',
        GATEWAY_GROUP_TTL_SECONDS: '600',
        GATEWAY_ROUTE_PREFIX: '/pgw',
      }),
      clock: () => 1_700_000_000_000,
    });

  it('lists each group with its labels, push times, series, expiry and metrics, under a strict CSP', async () => {
    const gateway = app();
    await gateway.request('/pgw/metrics/job/nightly/path@base64/L3Zhci90bXA', {
      method: 'PUT',
      body: '# TYPE rows gauge\nrows{t="a"} 1\nrows{t="b"} 2\n',
      headers: { authorization: 'Bearer tok' },
    });
    const response = await gateway.request('/pgw/', { headers: { authorization: basic } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).toContain('job=&quot;nightly&quot;');
    expect(html).toContain('path=&quot;/var/tmp&quot;');
    expect(html).toContain('<td class="series">2</td>');
    expect(html).toContain('2023-11-14T22:13:20Z'); // last push
    expect(html).toContain('2023-11-14T22:23:20Z'); // expires after the 600 s TTL
    expect(html).toContain('rows{instance=&quot;&quot;,job=&quot;nightly&quot;,path=&quot;/var/tmp&quot;,t=&quot;a&quot;} 1');
    expect(html).toContain('src="/pgw/static/gateway-page.js"');
    expect(html).not.toMatch(/<script>|<style>| on[a-z]+=/); // nothing inline for the CSP to refuse
  });

  it('answers 401 without the scrape credentials; the status page shows settings without secrets', async () => {
    const gateway = app();
    expect((await gateway.request('/pgw/')).status).toBe(401);
    expect((await gateway.request('/pgw/status')).status).toBe(401);
    const status = await (await gateway.request('/pgw/status', { headers: { authorization: basic } })).text();
    expect(status).toContain('push.auth');
    expect(status).not.toContain('tok<');
    expect(status).not.toContain('secret');
  });

  it('addresses a group exactly with base64 values, the empty instance included', () => {
    const url = groupUrl('', { job: 'a/b', instance: '', zone: 'eu' });
    expect(parseGroupingPath(url.slice('/metrics/'.length))).toEqual({ job: 'a/b', instance: '', zone: 'eu' });
  });
});

describe('the web page shows what only this gateway knows', () => {
  const now = 1_700_000_000_000;
  const second = 1_000_000_000n;
  const t0 = BigInt(now) * 1_000_000n;
  const gateway = () =>
    createGatewayApp({
      store: new MemoryStore(),
      config: loadGatewayConfig({ GATEWAY_GROUP_TTL_SECONDS: '600' }),
      clock: () => now,
    });
  const otlp = (service: string, metric: Record<string, unknown>) => ({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeMetrics: [{ scope: { name: 'shop' }, metrics: [metric] }],
      },
    ],
  });
  const deltaCounter = (start: bigint, end: bigint) => ({
    name: 'orders',
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: [{ startTimeUnixNano: String(start), timeUnixNano: String(end), asInt: '2' }],
    },
  });
  const gauge = { name: 'queue_depth', gauge: { dataPoints: [{ timeUnixNano: String(t0), asDouble: 4 }] } };

  /** Pushes one group in each way a group can be written, retries two of them, and refuses a push to a fifth. */
  async function pushedEveryWay() {
    const app = gateway();
    const send = async (path: string, init: RequestInit, status = 200) => expect((await app.request(path, init)).status).toBe(status);
    const counter = '# TYPE jobs_total counter\njobs_total 1\n';
    await send('/metrics/job/put-job', { method: 'PUT', body: counter });
    await send('/metrics/job/post-job', { method: 'POST', body: counter });
    const keyed = { method: 'POST', body: counter, headers: { 'idempotency-key': 'push-1' } };
    await send('/aggregate/metrics/job/agg-job', keyed);
    await send('/aggregate/metrics/job/agg-job', keyed); // a retry: answered as a replay
    await send('/aggregate/metrics/job/agg-job', keyed);
    const json = { 'content-type': 'application/json' };
    const delta = JSON.stringify(otlp('otlp-delta-job', deltaCounter(t0, t0 + 10n * second)));
    await send('/v1/metrics', { method: 'POST', headers: json, body: delta });
    await send('/v1/metrics', { method: 'POST', headers: json, body: delta }); // the same window again
    await send('/v1/metrics', { method: 'POST', headers: json, body: JSON.stringify(otlp('otlp-gauge-job', gauge)) });
    await send('/metrics/job/refused-job', { method: 'PUT', body: 'jobs_total 1 1700000000000\n' }, 400); // a timestamp
    return app;
  }

  /** The cells of the group's row, as text. */
  const cells = (html: string, job: string): Record<string, string> => {
    const row = new RegExp(`<tr data-group="job=&quot;${job}&quot;.*?</tr>`, 's').exec(html)?.[0] ?? '';
    const cell = (name: string) =>
      (new RegExp(`<td class="${name}">(.*?)</td>`, 's').exec(row)?.[1] ?? '')
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim();
    return { mode: cell('mode'), retries: cell('retries'), expires: cell('expires') };
  };

  it('says per group how it was last written, its deduplicated retries, and when its TTL ends', async () => {
    const app = await pushedEveryWay();
    const html = await (await app.request('/')).text();
    expect(html).toContain('expires (TTL 600 s)');
    expect(cells(html, 'put-job')).toEqual({ mode: 'replaced', retries: '0', expires: '2023-11-14T22:23:20Z in 600 s' });
    expect(cells(html, 'post-job').mode).toBe('replaced');
    expect(cells(html, 'agg-job')).toMatchObject({ mode: 'aggregated', retries: '2' });
    expect(cells(html, 'otlp-delta-job')).toMatchObject({ mode: 'OTLP delta', retries: '1' });
    expect(cells(html, 'otlp-gauge-job')).toMatchObject({ mode: 'OTLP cumulative', retries: '0' });
    expect(cells(html, 'refused-job')).toMatchObject({ mode: 'none (only refused pushes)', retries: '0' });
  });

  it('shows the latest way a group was written: a PUT after /aggregate makes it replaced', async () => {
    const app = gateway();
    const body = '# TYPE c_total counter\nc_total 1\n';
    expect((await app.request('/aggregate/metrics/job/both', { method: 'POST', body })).status).toBe(200);
    expect(cells(await (await app.request('/')).text(), 'both').mode).toBe('aggregated');
    expect((await app.request('/metrics/job/both', { method: 'PUT', body })).status).toBe(200);
    expect(cells(await (await app.request('/')).text(), 'both').mode).toBe('replaced');
  });

  it('adds the same facts to /api/v1/metrics beside the official fields, which stay as they were', async () => {
    const app = await pushedEveryWay();
    const body = (await (await app.request('/api/v1/metrics')).json()) as { data: Record<string, unknown>[] };
    const entry = (job: string) => body.data.find((group) => (group.labels as Record<string, string>).job === job)!;
    expect(entry('agg-job')[GATEWAY_GROUP_FIELD]).toEqual({
      write_mode: 'aggregated',
      deduplicated_retries: 2,
      ttl_seconds: 600,
      expires_at: '2023-11-14T22:23:20.000Z',
    });
    expect((entry('otlp-delta-job')[GATEWAY_GROUP_FIELD] as { write_mode: string }).write_mode).toBe('otlp-delta');
    expect((entry('refused-job')[GATEWAY_GROUP_FIELD] as { write_mode: unknown }).write_mode).toBeNull();
    expect(Object.keys(entry('put-job')).sort()).toEqual(
      [GATEWAY_GROUP_FIELD, 'jobs_total', 'labels', 'last_push_successful', 'push_failure_time_seconds', 'push_time_seconds'].sort(),
    );
    expect(entry('put-job').labels).toEqual({ job: 'put-job' });
  });

  it('says on the status page that one instance serves the memory store, and the TTL', async () => {
    const status = await (await gateway().request('/status')).text();
    expect(status).toContain('single instance');
    expect(status).toContain('600 s after the last push');
  });
});
