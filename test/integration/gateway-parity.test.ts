// Parity with the real official Pushgateway 1.5.1: every case sends the same requests to both gateways
// over HTTP, compares each status code, then compares GET /metrics after removing each side's own
// metrics (go_*, process_*, pushgateway_*, gateway_*) and the push-time values (kept: whether each
// group has a zero or a non-zero push_time_seconds / push_failure_time_seconds). Families and the
// samples inside them are compared as sets, since the two gateways order samples differently.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import type { MetricFamily } from '../../pushgateway/core/model.js';
import { decodeDelimitedMetricFamilies } from '../../pushgateway/core/protobuf.js';
import { GATEWAY_GROUP_FIELD } from '../../pushgateway/http/read.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { encodeDelimited } from '../support/protobuf-bodies.js';
import { type RunningService, startOfficialPushgateway } from '../support/services/index.js';

const protobufType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

interface Step {
  method: 'PUT' | 'POST' | 'DELETE' | 'GET';
  path: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

const put = (path: string, body: string | Uint8Array = '', headers?: Record<string, string>): Step => ({
  method: 'PUT',
  path,
  body,
  ...(headers ? { headers } : {}),
});
const post = (path: string, body: string | Uint8Array = '', headers?: Record<string, string>): Step => ({
  method: 'POST',
  path,
  body,
  ...(headers ? { headers } : {}),
});
const del = (path: string): Step => ({ method: 'DELETE', path });

let official: RunningService;
let ours: RunningGateway;

beforeAll(async () => {
  [official, ours] = await Promise.all([
    startOfficialPushgateway(['--web.enable-admin-api']),
    startGateway({
      config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_ENABLE_ADMIN_API: 'true', GATEWAY_HOST: '127.0.0.1' }),
      logger: createGatewayLogger('silent'),
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([official?.stop(), ours?.stop()]);
});

beforeEach(async () => {
  for (const base of [official.url, ours.url]) {
    const response = await fetch(`${base}/api/v1/admin/wipe`, { method: 'PUT' });
    expect(response.status).toBe(202);
  }
});

async function send(base: string, step: Step): Promise<number> {
  const response = await fetch(base + step.path, {
    method: step.method,
    headers: step.headers ?? {},
    ...(step.body === undefined ? {} : { body: step.body as BodyInit }),
  });
  await response.arrayBuffer();
  return response.status;
}

const ownFamilies = /^(go_|process_|pushgateway_|gateway_)/;

/** family name → HELP, TYPE and the sorted set of its sample lines, push-time values masked. */
function normalize(exposition: string): Record<string, { help: string | undefined; type: string | undefined; samples: string[] }> {
  const families: Record<string, { help: string | undefined; type: string | undefined; samples: string[] }> = {};
  const family = (name: string) => (families[name] ??= { help: undefined, type: undefined, samples: [] });
  let current = '';
  for (const line of exposition.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      current = meta[2]!;
      if (meta[1] === 'HELP') family(current).help = meta[3];
      else family(current).type = meta[3];
      continue;
    }
    let sample = line;
    if (current === 'push_time_seconds' || current === 'push_failure_time_seconds')
      sample = line.replace(/ (\S+)$/, (_, v: string) => (v === '0' ? ' 0' : ' <time>'));
    family(current).samples.push(sample);
  }
  for (const name of Object.keys(families)) {
    if (ownFamilies.test(name)) delete families[name];
    else families[name]!.samples.sort();
  }
  return families;
}

async function scrape(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

/** Runs the steps on both gateways; returns both normalized expositions after asserting equal statuses. */
async function runOnBoth(steps: Step[]) {
  for (const step of steps) {
    const [expected, actual] = [await send(official.url, step), await send(ours.url, step)];
    expect({ step: `${step.method} ${step.path} ${String(step.body).slice(0, 80)}`, status: actual }).toEqual({
      step: `${step.method} ${step.path} ${String(step.body).slice(0, 80)}`,
      status: expected,
    });
  }
  return { official: normalize(await scrape(official.url)), ours: normalize(await scrape(ours.url)) };
}

async function expectParity(steps: Step[]) {
  const result = await runOnBoth(steps);
  expect(result.ours).toEqual(result.official);
  return result;
}

const family = (name: string, type: MetricFamily['type'], metrics: MetricFamily['metrics'], help?: string): MetricFamily => ({
  name,
  help,
  type,
  metrics,
});

describe('parity with the official Pushgateway 1.5.1', () => {
  it('PUT replaces the group, POST replaces the pushed families, DELETE removes exactly one group', async () => {
    await expectParity([
      put('/metrics/job/batch/instance/a', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n'),
      post('/metrics/job/batch/instance/a', '# TYPE b gauge\nb{x="1"} 3\n# TYPE c counter\nc 4\n'),
      put('/metrics/job/batch/instance/b', '# TYPE a gauge\na 5\n'),
      post('/metrics/job/fresh', 'z 1\n'),
      put('/metrics/job/batch/instance/b', '# TYPE d gauge\nd 6\n'),
      del('/metrics/job/batch/instance/a'),
      del('/metrics/job/never'),
      put('/metrics/job/empty', ''),
      { method: 'GET', path: '/metrics/job/batch/instance/b' }, // 405 on both
    ]);
  });

  it('reads base64 and empty grouping values alike', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    await expectParity([
      put(`/metrics/job@base64/${b64('a/b c')}`, 'm 1\n'),
      put(`/metrics/job/j/path@base64/${b64('/var/tmp')}`, 'm 2\n'),
      put(`/metrics/job/j/path@base64/${Buffer.from('/var/tm').toString('base64')}`, 'm 3\n'), // padded
      put('/metrics/job/j/empty@base64/=', 'm 4\n'),
      put('/metrics/job/k/foo/', 'm 5\n'),
      put(`/metrics/job/k/u@base64/${b64('ünï ✓')}`, 'm 6\n'),
    ]);
  });

  it('lets grouping labels win over body labels and keeps a body instance when the URL has none', async () => {
    await expectParity([
      put('/metrics/job/a', 'm{instance="x"} 1\n'),
      put('/metrics/job/b/foo/g', 'm{job="zz",foo="b",bar="c"} 3\n'),
      put('/metrics/job/c/instance/url', 'm{instance="body"} 4\n'),
    ]);
  });

  it('stores histograms and summaries', async () => {
    await expectParity([
      put(
        '/metrics/job/h',
        '# HELP lat Request latency.\n# TYPE lat histogram\nlat_bucket{route="/a",le="0.1"} 1\nlat_bucket{route="/a",le="0.5"} 3\nlat_bucket{route="/a",le="+Inf"} 4\nlat_sum{route="/a"} 1.25\nlat_count{route="/a"} 4\n' +
          'lat_bucket{route="/b",le="0.1"} 0\nlat_sum{route="/b"} 0.5\nlat_count{route="/b"} 2\n' + // no +Inf bucket: both add it
          '# TYPE q summary\nq{quantile="0.5"} 1\nq{quantile="0.99"} 2.5\nq_sum 10\nq_count 7\nq_sum{a="b"} 1\nq_count{a="b"} 1\n',
      ),
      post(
        '/metrics/job/h',
        '# TYPE lat histogram\nlat_bucket{route="/c",le="1"} 1\nlat_bucket{route="/c",le="+Inf"} 1\nlat_sum{route="/c"} 0.3\nlat_count{route="/c"} 1\n',
      ),
    ]);
  });

  it('escapes label values and HELP, and writes special and large values identically', async () => {
    await expectParity([
      put(
        '/metrics/job/e',
        '# HELP e_total esc \\\\ and \\n new "q"\n# TYPE e_total counter\ne_total{v="q\\"uo\\\\te\\nnl"} +Inf\ne_total{v="2"} NaN\ne_total{v="3"} -Inf\n' +
          'e_total{v="4"} 1e-7\ne_total{v="5"} 123456789012\ne_total{v="6"} 0.1\ne_total{v="7"} 1234567\ne_total{v="8"} -0.00001\ne_total{v="ünï"} 5e300\n',
      ),
    ]);
  });

  it('refuses type conflicts across groups with 400 and records the failure time', async () => {
    await expectParity([
      put('/metrics/job/k', '# TYPE kk counter\nkk 1\n'),
      put('/metrics/job/k2', '# TYPE kk gauge\nkk 1\n'),
      put('/metrics/job/k3', 'kk 1\n'),
      put('/metrics/job/k', '# TYPE kk gauge\nkk 2\n'), // the only holder may change the type
    ]);
  });

  it('refuses the same series from two groups and collisions with histogram suffixes', async () => {
    await expectParity([
      put('/metrics/job/s', 's{foo="1"} 1\n'),
      put('/metrics/job/s/foo/1', 's 1\n'),
      put('/metrics/job/o', '# TYPE hi histogram\nhi_bucket{le="+Inf"} 3\nhi_sum 2.5\nhi_count 3\n'),
      put('/metrics/job/x2', 'hi_count 1\n'),
      put('/metrics/job/g', 'mm{a="1"} 1\nmm{a="1"} 2\n'),
    ]);
  });

  it('refuses samples with timestamps, recording the failure', async () => {
    await expectParity([
      put('/metrics/job/t', 'x_total 1 1700000000000\n'),
      put('/metrics/job/t', 'ok 1\n'),
      post('/metrics/job/t', 'y 2 -5\n'),
    ]);
  });

  it('refuses reserved and invalid names in the URL and the body', async () => {
    await expectParity([
      put('/metrics/job/d', 'mm{__x="1"} 1\n'),
      put('/metrics/job/d/__x/1', 'mm 1\n'),
      put('/metrics/job/d/1foo/x', 'mm 1\n'),
      put('/metrics/job/d/foo', 'mm 1\n'),
      put('/metrics/job/d/foo/1/bar', 'mm 1\n'),
      put('/metrics/job@base64/=', 'mm 1\n'),
      put('/metrics/job/e/foo@base64/!!', 'mm 1\n'),
    ]);
  });

  it('answers malformed bodies with 400 and stores nothing', async () => {
    const bodies = [
      'garbage line here\n',
      'a 1',
      'a 1\r\n',
      'a 1 \n',
      'a 1 2 3\n',
      'a 0x10\n',
      'a 1_000\n',
      'a{b="1",b="2"} 1\n',
      '# TYPE a foo\na 1\n',
      'a 1\n# TYPE a gauge\n',
      '# HELP a x\n# HELP a y\na 1\n',
      '# HELP a x \\"q\\"\na 1\n',
      'b{l="a\\tb"} 1\n',
      'b{l="a\nb"} 1\n',
      'b{1l="a"} 1\n',
      'b{l "a"} 1\n',
      'b{l=a} 1\n',
      'b{l="a" x="b"} 1\n',
      '{l="a"} 1\n',
      '# TYPE h histogram\nh_bucket{le="x"} 1\n',
      '# TYPE s summary\ns{quantile="x"} 1\n',
      'b{__name__="a"} 1\n',
      'ok 1\nbad line\n',
    ];
    await expectParity(bodies.map((body) => put('/metrics/job/mal', body)));
    await expectParity([put('/metrics/job/mal', Uint8Array.from([0x61, 0x7b, 0x62, 0x3d, 0x22, 0xff, 0x22, 0x7d, 0x20, 0x31, 0x0a]))]);
  });

  it('refuses a body starting with a byte order mark and values that overflow a float64, accepting underflow', async () => {
    await expectParity([
      put('/metrics/job/bom', '\uFEFFa 1\n'),
      put('/metrics/job/big', 'a 1e999\n'),
      put('/metrics/job/big', 'a -1e999\n'),
      put('/metrics/job/big', '# TYPE h histogram\nh_bucket{le="1e999"} 1\nh_sum 1\nh_count 1\n'),
      put('/metrics/job/tiny', 'a 1e-999\n'),
    ]);
  });

  it('accepts the lenient corners of the text format alike', async () => {
    await expectParity([
      put(
        '/metrics/job/l1',
        '# just a comment\n\n  \t a 1\n# TYPE b Counter\nb 2\nc 1\n# HELP c late\n# HELP\n#TYPE d gauge\nd 1\nf{} 1\ng{a=""} 1\nz { a = "1" , } 1\nw  1\ninf_val Inf\nx 1\ny 1\nx{q="2"} 2\n',
      ),
      put('/metrics/job/l2', '# TYPE ot gauge\n'),
      put('/metrics/job/l3', 'neg_total -1\n# TYPE hh histogram\nhh_bucket{le="2"} 1\nhh_bucket{le="1"} 1\nhh_sum 1\nhh_count 1\n'),
    ]);
  });

  it('accepts delimited protobuf bodies (as client_golang sends them), refusing timestamps alike', async () => {
    const families = [
      family(
        'pb_requests_total',
        'counter',
        [
          { labels: { code: '200' }, value: 12 },
          { labels: { code: '500' }, value: 1 },
        ],
        'Requests.',
      ),
      family('pb_temp', 'gauge', [{ labels: {}, value: -3.5 }]),
      family('pb_untyped', 'untyped', [{ labels: { a: 'x"y' }, value: Number.NaN }]),
      family('pb_latency', 'histogram', [
        {
          labels: { r: '/' },
          buckets: [
            { upperBound: 0.1, cumulativeCount: 2 },
            { upperBound: 1, cumulativeCount: 5 },
            { upperBound: Infinity, cumulativeCount: 6 },
          ],
          sum: 3.25,
          count: 6,
        },
      ]),
      family('pb_latency_no_inf', 'histogram', [{ labels: {}, buckets: [{ upperBound: 0.5, cumulativeCount: 1 }], sum: 0.25, count: 3 }]),
      family('pb_summary', 'summary', [
        {
          labels: {},
          quantiles: [
            { quantile: 0.5, value: 0.2 },
            { quantile: 0.9, value: 0.7 },
          ],
          sum: 9,
          count: 20,
        },
      ]),
    ];
    await expectParity([
      put('/metrics/job/pb/instance/i', encodeDelimited(families), { 'content-type': protobufType }),
      post('/metrics/job/pb/instance/i', encodeDelimited([family('pb_temp', 'gauge', [{ labels: {}, value: 21 }])]), {
        'content-type': protobufType,
      }),
      put(
        '/metrics/job/pbts',
        encodeDelimited([family('pb_ts', 'gauge', [{ labels: {}, value: 1 }])], { timestampMs: 1_700_000_000_000 }),
        { 'content-type': protobufType },
      ),
      put('/metrics/job/pbconflict', encodeDelimited([family('pb_temp', 'counter', [{ labels: {}, value: 1 }])]), {
        'content-type': protobufType,
      }),
      put('/metrics/job/pbbad', Uint8Array.from([0x05, 0x0a, 0x09, 0x61]), { 'content-type': protobufType }),
    ]);
  });

  it('accepts gzip-encoded bodies, text and protobuf', async () => {
    await expectParity([
      put('/metrics/job/gz', gzipSync('# TYPE g gauge\ng{a="1"} 4\n'), { 'content-encoding': 'gzip' }),
      put('/metrics/job/gzpb', gzipSync(encodeDelimited([family('gzpb', 'gauge', [{ labels: {}, value: 2 }])])), {
        'content-encoding': 'gzip',
        'content-type': protobufType,
      }),
    ]);
  });

  it('accepts groups that disagree on HELP, showing one of the pushed HELPs', async () => {
    const result = await runOnBoth([
      put('/metrics/job/h1', '# HELP hh other help\nhh 1\n'),
      put('/metrics/job/h2', '# HELP hh some help\nhh 1\n'),
    ]);
    // Which HELP wins is map-iteration order in the official gateway (random); ours takes the first group by key.
    expect(['other help', 'some help']).toContain(result.official.hh?.help);
    expect(result.ours.hh?.help).toBe('other help');
    expect({ ...result.ours.hh, help: undefined }).toEqual({ ...result.official.hh, help: undefined });
  });

  it('treats an empty PUT as "delete the metrics, keep the group with a new push time" and an empty POST as "only touch the push time"', async () => {
    // storage/diskmetricstore.go processWriteRequest (1.11 as 1.5.1): a PUT with no families deletes every
    // family but the push timestamps, which are then set anew; a POST with none only sets them.
    const pushTimes = async (base: string) => {
      const text = await scrape(base);
      return Object.fromEntries(
        [...text.matchAll(/^push_time_seconds\{instance="",job="(\w+)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]),
      );
    };
    await runOnBoth([put('/metrics/job/ep', 'a 1\nb 2\n'), put('/metrics/job/epost', 'c 3\n')]);
    const before = { official: await pushTimes(official.url), ours: await pushTimes(ours.url) };
    await new Promise((resolve) => setTimeout(resolve, 1100)); // push times are at least milliseconds apart on both
    const result = await expectParity([put('/metrics/job/ep', ''), post('/metrics/job/epost', '')]);
    expect(result.ours.a).toBeUndefined();
    expect(result.ours.c?.samples).toEqual(['c{instance="",job="epost"} 3']);
    expect(result.ours.push_time_seconds?.samples).toEqual([
      'push_time_seconds{instance="",job="ep"} <time>',
      'push_time_seconds{instance="",job="epost"} <time>',
    ]);
    const after = { official: await pushTimes(official.url), ours: await pushTimes(ours.url) };
    for (const side of ['official', 'ours'] as const) {
      expect(after[side].ep).toBeGreaterThan(before[side].ep!);
      expect(after[side].epost).toBeGreaterThan(before[side].epost!);
    }
  });

  it('serves the same families in delimited protobuf when the scraper asks for it (expfmt.Negotiate)', async () => {
    await runOnBoth([
      put('/metrics/job/pb/instance/i', '# HELP c_total Things.\n# TYPE c_total counter\nc_total{k="v"} 3\n# TYPE g gauge\ng -2.5\n'),
      put(
        '/metrics/job/pbh',
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 4\nh_sum 7.5\nh_count 4\n# TYPE s summary\ns{quantile="0.9"} 2\ns_sum 9\ns_count 5\nu 1\n',
      ),
    ]);
    const accept =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,text/plain;version=0.0.4;q=0.5';
    const decoded = async (base: string) => {
      const response = await fetch(`${base}/metrics`, { headers: { accept } });
      expect(response.headers.get('content-type')).toMatch(
        /^application\/vnd\.google\.protobuf; ?proto=io\.prometheus\.client\.MetricFamily; ?encoding=delimited/,
      );
      const { families } = decodeDelimitedMetricFamilies(new Uint8Array(await response.arrayBuffer()));
      const pushed = families.filter((f) => !ownFamilies.test(f.name));
      for (const f of pushed) {
        if (f.name.startsWith('push_')) f.metrics = f.metrics.map((m) => ({ ...m, value: 'value' in m && m.value > 0 ? 1 : 0 }));
        f.metrics.sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
        for (const m of f.metrics) m.labels = Object.fromEntries(Object.entries(m.labels).sort());
      }
      return pushed.sort((a, b) => a.name.localeCompare(b.name));
    };
    const [theirs, mine] = [await decoded(official.url), await decoded(ours.url)];
    expect(mine.map((f) => f.name)).toEqual(['c_total', 'g', 'h', 'push_failure_time_seconds', 'push_time_seconds', 's', 'u']);
    expect(mine).toEqual(theirs);
  });

  it('answers /api/v1/metrics with the same groups, families and string values (api/v1/api.go metrics)', async () => {
    await runOnBoth([
      put(
        '/metrics/job/api/instance/i',
        '# HELP c_total Things.\n# TYPE c_total counter\nc_total{k="v"} 3\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 4\nh_sum 7.5\nh_count 4\n# TYPE s summary\ns{quantile="0.9"} 2\ns_sum 9\ns_count 5\n',
      ),
      put('/metrics/job/api2', '# HELP g A gauge.\n# TYPE g gauge\ng 1e-07\n'),
    ]);
    const groups = async (base: string) => {
      const body = (await (await fetch(`${base}/api/v1/metrics`)).json()) as { status: string; data: Array<Record<string, unknown>> };
      expect(body.status).toBe('success');
      const masked = JSON.parse(JSON.stringify(body.data), (key, value) => {
        if (key === 'time_stamp') return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? '<time>' : value;
        return value;
      }) as Array<Record<string, { metrics?: Array<{ value?: string }> }>>;
      for (const group of masked) {
        for (const name of ['push_time_seconds', 'push_failure_time_seconds'])
          for (const m of group[name]?.metrics ?? []) m.value = m.value === '0' ? '0' : '<time>';
        // Ours adds one documented key per group (pushgateway/README.md); the official keys must be equal.
        if (base === ours.url) expect(group[GATEWAY_GROUP_FIELD]).toMatchObject({ write_mode: 'replaced' });
        delete group[GATEWAY_GROUP_FIELD];
      }
      return masked.sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
    };
    expect(await groups(ours.url)).toEqual(await groups(official.url));
  });

  it('answers /api/v1/status with the fields of the official: flags, start_time, build_information (api/v1/api.go status)', async () => {
    const status = async (base: string) =>
      (await (await fetch(`${base}/api/v1/status`)).json()) as { status: string; data: Record<string, unknown> };
    const [theirs, mine] = [await status(official.url), await status(ours.url)];
    expect(Object.keys(mine.data).sort()).toEqual(Object.keys(theirs.data).sort());
    expect(mine.status).toBe(theirs.status);
    expect(Object.keys(mine.data.build_information as object)).toEqual(
      expect.arrayContaining(Object.keys(theirs.data.build_information as object).filter((key) => key !== 'goVersion')),
    );
    expect(Date.parse(String(mine.data.start_time))).not.toBeNaN();
    expect(theirs.data.flags).toMatchObject({ 'web.enable-admin-api': 'true' });
    expect(mine.data.flags).toMatchObject({ 'web.enable-admin-api': 'true', 'web.route-prefix': '' });
  });
});
