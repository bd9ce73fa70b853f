import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.js';
import { loadGatewayConfig } from '../config/gateway.js';
import { parseGroupingPath } from '../core/grouping.js';
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
    expect(html).toContain('<td>2</td>'); // series
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
