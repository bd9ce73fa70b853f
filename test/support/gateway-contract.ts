// The aggregation-mode contract (DESIGN.md "Aggregation mode"), as HTTP requests against any running
// gateway: the memory store through app.request, the Node server, the Redis store, and the Workers build
// in workerd all run these same cases. The target is configured with GATEWAY_PUSH_TOKEN=<token> and
// GATEWAY_MAX_BODY_BYTES=65536; every case uses its own job, so cases never see each other's groups.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { HistogramMetric, MetricFamily } from '../../pushgateway/core/model.js';
import { decodeDelimitedMetricFamilies } from '../../pushgateway/core/protobuf.js';
import { protobufContentType } from '../../pushgateway/core/protobuf-exposition.js';
import { encodeDelimited } from './protobuf-bodies.js';

export interface AggregationTarget {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  token: string;
}

export const CONTRACT_MAX_BODY_BYTES = 65_536;

const nativeFamily = (schema: number, counts: number[]): MetricFamily => ({
  name: 'native_took_seconds',
  help: undefined,
  type: 'histogram',
  metrics: [
    {
      labels: {},
      buckets: [],
      sum: 1.5,
      count: 1 + counts.reduce((a, b) => a + b, 0),
      native: {
        schema,
        zeroThreshold: 2 ** -128,
        zeroCount: 1,
        positiveSpans: [{ offset: 1, length: counts.length }],
        positiveCounts: counts,
        negativeSpans: [],
        negativeCounts: [],
      },
    },
  ],
});

export function describeAggregationContract(name: string, target: () => AggregationTarget): void {
  let jobs = 0;
  const newJob = () => `${name.replace(/\W/g, '-')}-${++jobs}-${Math.random().toString(36).slice(2, 8)}`;
  const auth = () => ({ authorization: `Bearer ${target().token}` });

  const push = (job: string, body: string | Uint8Array, init: { method?: string; headers?: Record<string, string> } = {}) =>
    target().fetch(`/aggregate/metrics/job/${job}`, {
      method: init.method ?? 'POST',
      body: body as BodyInit,
      headers: { ...auth(), ...init.headers },
    });

  /** The sample lines of one job in /metrics, without its push-time lines (which change on every push). */
  const jobLines = async (job: string): Promise<string[]> => {
    const response = await target().fetch('/metrics', {});
    expect(response.status).toBe(200);
    return (await response.text()).split('\n').filter((line) => line.includes(`job="${job}"`) && !line.startsWith('push_'));
  };
  const deduplicated = async (): Promise<number> => {
    const text = await (await target().fetch('/metrics', {})).text();
    return Number(/^gateway_pushes_deduplicated_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  };

  describe(`aggregation contract: ${name}`, () => {
    it('adds counters and histograms, replaces gauges, under POST and PUT alike', async () => {
      const job = newJob();
      const first =
        '# HELP done_total Work done.\n# TYPE done_total counter\ndone_total{kind="a"} 3\n# TYPE in_flight gauge\nin_flight 4\n' +
        '# TYPE took_seconds histogram\ntook_seconds_bucket{le="1"} 1\ntook_seconds_bucket{le="+Inf"} 2\ntook_seconds_sum 2.5\ntook_seconds_count 2\n';
      const second =
        '# TYPE done_total counter\ndone_total{kind="a"} 2\ndone_total{kind="b"} 1\n# TYPE in_flight gauge\nin_flight 1\n' +
        '# TYPE took_seconds histogram\ntook_seconds_bucket{le="1"} 0\ntook_seconds_bucket{le="+Inf"} 1\ntook_seconds_sum 4\ntook_seconds_count 1\n';
      expect((await push(job, first)).status).toBe(200);
      expect((await push(job, second, { method: 'PUT' })).status).toBe(200);
      expect(await jobLines(job)).toEqual([
        `done_total{instance="",job="${job}",kind="a"} 5`,
        `done_total{instance="",job="${job}",kind="b"} 1`,
        `in_flight{instance="",job="${job}"} 1`,
        `took_seconds_bucket{instance="",job="${job}",le="1"} 1`,
        `took_seconds_bucket{instance="",job="${job}",le="+Inf"} 3`,
        `took_seconds_sum{instance="",job="${job}"} 6.5`,
        `took_seconds_count{instance="",job="${job}"} 3`,
      ]);
      const text = await (await target().fetch('/metrics', {})).text();
      expect(text).toContain('# HELP done_total Work done.\n# TYPE done_total counter\n');
    });

    it.each([
      ['a negative counter delta', '# TYPE c_total counter\nc_total -1\n', /delta must be a finite number >= 0/],
      ['a summary', '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\ns_count 1\n', /cannot be aggregated/],
      ['other bucket bounds', '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /bucket bounds/],
      ['a type change', '# TYPE c_total gauge\nc_total 1\n', /gauge/],
      ['a sample with a timestamp', '# TYPE c_total counter\nc_total 1 1700000000000\n', /timestamps/],
      ['a malformed body', 'c_total{ 1\n', /line 1/],
      ['an untyped sample', 'fresh_total 1\n', /untyped fresh_total cannot be aggregated.*# TYPE fresh_total counter/],
    ])('refuses %s with 400 and changes nothing', async (_what, body, message) => {
      const job = newJob();
      expect(
        (
          await push(
            job,
            '# TYPE c_total counter\nc_total 7\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
          )
        ).status,
      ).toBe(200);
      const before = await jobLines(job);
      const response = await push(job, body);
      expect(response.status).toBe(400);
      const error = (await response.json()) as { error: { code: string; message: string } };
      expect(error.error.message).toMatch(message);
      expect(await jobLines(job)).toEqual(before);
    });

    it('applies an Idempotency-Key once and answers the replay with Idempotent-Replayed', async () => {
      const job = newJob();
      const key = crypto.randomUUID();
      const before = await deduplicated();
      const first = await push(job, '# TYPE retried_total counter\nretried_total 4\n', { headers: { 'idempotency-key': key } });
      expect(first.status).toBe(200);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const again = await push(job, '# TYPE retried_total counter\nretried_total 4\n', { headers: { 'idempotency-key': key } });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await jobLines(job)).toEqual([`retried_total{instance="",job="${job}"} 4`]);
      expect(await deduplicated()).toBe(before + 1);
      expect(
        (await push(job, '# TYPE retried_total counter\nretried_total 1\n', { headers: { 'idempotency-key': 'has space' } })).status,
      ).toBe(400);
    });

    it('never double counts concurrent retries of the same keys', async () => {
      const job = newJob();
      const keys = Array.from({ length: 25 }, () => crypto.randomUUID());
      const responses = await Promise.all(
        [...keys, ...keys].map((key, i) =>
          push(job, `# TYPE racing_total counter\nracing_total ${(i % 25) + 1}\n`, { headers: { 'idempotency-key': key } }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(25);
      expect(await jobLines(job)).toEqual([`racing_total{instance="",job="${job}"} ${(25 * 26) / 2}`]);
    });

    it('deletes the group with DELETE /aggregate/... (202)', async () => {
      const job = newJob();
      await push(job, '# TYPE gone_total counter\ngone_total 1\n');
      const response = await target().fetch(`/aggregate/metrics/job/${job}`, { method: 'DELETE', headers: auth() });
      expect(response.status).toBe(202);
      expect(await jobLines(job)).toEqual([]);
    });

    it('reads gzip bodies and refuses one that inflates past the limit with 413', async () => {
      const job = newJob();
      expect(
        (await push(job, gzipSync('# TYPE zipped_total counter\nzipped_total 2\n'), { headers: { 'content-encoding': 'gzip' } })).status,
      ).toBe(200);
      expect(await jobLines(job)).toEqual([`zipped_total{instance="",job="${job}"} 2`]);
      const bomb = gzipSync(`# TYPE zipped_total counter\n${'zipped_total 1\n'.repeat(CONTRACT_MAX_BODY_BYTES)}`);
      const response = await push(job, bomb, { headers: { 'content-encoding': 'gzip' } });
      expect(response.status).toBe(413);
      expect(await jobLines(job)).toEqual([`zipped_total{instance="",job="${job}"} 2`]);
    });

    it('merges native histograms from protobuf pushes, and refuses a merge it cannot do with 400', async () => {
      const job = newJob();
      const headers = { 'content-type': protobufContentType };
      const first = await push(job, encodeDelimited([nativeFamily(1, [2, 3])]), { headers });
      const scraped = async () => {
        const response = await target().fetch('/metrics', { headers: { accept: protobufContentType } });
        const { families } = decodeDelimitedMetricFamilies(new Uint8Array(await response.arrayBuffer()));
        return families.find((f) => f.name === 'native_took_seconds')?.metrics.find((m) => m.labels.job === job) as
          | HistogramMetric
          | undefined;
      };
      expect(first.status).toBe(200);
      // Schema 0 is coarser: schema-1 buckets 1 and 2 land in schema-0 bucket 1.
      expect((await push(job, encodeDelimited([nativeFamily(0, [4])]), { headers })).status).toBe(200);
      const merged = await scraped();
      expect(merged?.native).toEqual({
        schema: 0,
        zeroThreshold: 2 ** -128,
        zeroCount: 2,
        positiveSpans: [{ offset: 1, length: 1 }],
        positiveCounts: [9],
        negativeSpans: [],
        negativeCounts: [],
      });
      expect([merged?.count, merged?.sum]).toEqual([11, 3]);
      const mixed = nativeFamily(0, [1]);
      (mixed.metrics[0] as HistogramMetric).native!.float = true;
      const refused = await push(job, encodeDelimited([mixed]), { headers });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('a native histogram with float counts cannot be merged into one with integer counts');
      expect((await scraped())?.native).toEqual(merged?.native);
    });

    it('requires the bearer token to push (401 with WWW-Authenticate)', async () => {
      const job = newJob();
      const response = await target().fetch(`/aggregate/metrics/job/${job}`, { method: 'POST', body: 'x_total 1\n' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      expect(await jobLines(job)).toEqual([]);
    });
  });
}
