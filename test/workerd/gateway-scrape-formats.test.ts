// The Workers build in real workerd: scrape formats chosen by Accept (text, OpenMetrics, delimited protobuf),
// gzip when accepted, snappy-framed push bodies, and the operator's page (hono/jsx, its script and CSP) — the
// same code paths as on Node, on the runtime that forbids eval and Node built-ins.

import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDelimitedMetricFamilies } from '../../pushgateway/core/protobuf.js';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';
import { snappyFramed } from '../support/snappy-framed.js';

const CONFIG = resolve(import.meta.dirname, '../../pushgateway/wrangler.toml');
const TOKEN = 'workers-scrape-token';
const protobufAccept =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,text/plain;version=0.0.4;q=0.5';

let dir: string;
let worker: RunningWorker;

beforeAll(async () => {
  dir = makeTempDir('gw-workerd-scrape');
  const scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
  worker = await startWorker({ config: CONFIG, scriptPath, bindings: { GATEWAY_PUSH_TOKEN: TOKEN } });
  const pushed = await worker.dispatchFetch('http://gateway.test/metrics/job/wk', {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'snappy' },
    body: snappyFramed(
      '# TYPE wk_total counter\nwk_total{a="1"} 5\n# TYPE wk_lat histogram\nwk_lat_bucket{le="1"} 2\nwk_lat_bucket{le="+Inf"} 3\nwk_lat_sum 2.5\nwk_lat_count 3\n',
    ),
  });
  expect(pushed.status).toBe(200);
}, 180_000);
afterAll(async () => {
  await worker?.stop();
  if (dir) removeDir(dir);
});

/** A raw HTTP GET to workerd's socket, so the body arrives exactly as sent (no transparent gunzip). */
function rawGet(
  path: string,
  headers: Record<string, string>,
): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(path, worker.url);
  return new Promise((resolvePromise, reject) => {
    httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({ headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('Workers gateway scrape formats', () => {
  it('serves text 0.0.4 by default and OpenMetrics when preferred, with the snappy-pushed values', async () => {
    const text = await worker.dispatchFetch('http://gateway.test/metrics');
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await text.text()).toContain('wk_total{a="1",instance="",job="wk"} 5\n');
    const om = await worker.dispatchFetch('http://gateway.test/metrics', {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5' },
    });
    expect(om.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const body = await om.text();
    expect(body).toContain('# TYPE wk counter\n');
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('serves delimited protobuf when preferred, gzip-compressed when accepted', async () => {
    const response = await rawGet('/metrics', { accept: protobufAccept, 'accept-encoding': 'gzip' });
    expect(response.headers['content-type']).toBe(
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    );
    expect(response.headers['content-encoding']).toBe('gzip');
    const { families } = decodeDelimitedMetricFamilies(gunzipSync(response.body));
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(byName.get('wk_total')?.metrics).toEqual([{ labels: { a: '1', instance: '', job: 'wk' }, value: 5 }]);
    expect(byName.get('wk_lat')?.metrics[0]).toMatchObject({ sum: 2.5, count: 3 });
  });
});

describe('Workers gateway page', () => {
  it('renders the groups with a strict CSP and serves its own script', async () => {
    const page = await worker.dispatchFetch('http://gateway.test/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('job=&quot;wk&quot;');
    expect(html).toContain('wk_total{a=&quot;1&quot;,instance=&quot;&quot;,job=&quot;wk&quot;} 5');
    expect(html).toContain('name="token"'); // a push token is set, so the delete form asks for it
    const script = await worker.dispatchFetch('http://gateway.test/static/gateway-page.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain("method: 'DELETE'");
    const status = await worker.dispatchFetch('http://gateway.test/status');
    expect(status.status).toBe(200);
    expect(await status.text()).toContain('one Durable Object'); // what serves the store (GATEWAY_DO_SHARDS unset)
  });
});
