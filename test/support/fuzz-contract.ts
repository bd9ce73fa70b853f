// Fuzz contract for any gateway store: arbitrary text and protobuf bodies, grouping paths and encodings
// never answer 5xx, and a refused push leaves the pushed data on /metrics byte-identical. A refusal still
// records push_failure_time_seconds (as the official gateway does) and is counted in
// pushgateway_http_requests_total and the push duration and size summaries, so those lines (and gateway_groups, which such a failure can raise) are
// left out of the comparison.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig } from '../../pushgateway/config/gateway.js';
import type { GatewayStore } from '../../pushgateway/store/types.js';

const protobufType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const tokens = [
  '# TYPE ',
  '# HELP ',
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'm',
  'm_total',
  'h_bucket',
  '_sum',
  '_count',
  '{',
  '}',
  '="',
  '"',
  ',',
  'le',
  'quantile',
  'instance',
  'job',
  ' ',
  '\n',
  '1',
  '-1',
  '1e999',
  'NaN',
  '+Inf',
  '\uFEFF',
  '\\',
  '\t',
  '0.5',
  '1700000000000',
];
const textBody = fc
  .array(fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 4 })), { maxLength: 40 })
  .map((parts) => parts.join(''));
const protobufBody = fc.uint8Array({ maxLength: 64 });
const segment = fc.oneof(
  fc.constantFrom('job', 'instance', 'a', 'a@base64', 'job@base64', '__x', '=', '%', '%2F', '', '77u_', 'x'),
  fc.string({ maxLength: 6 }).map(encodeURIComponent),
);
const groupingPath = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));

const pushedLines = (text: string) =>
  text
    .split('\n')
    .filter(
      (line) =>
        line !== '' &&
        !/^(# (HELP|TYPE) )?(push_|pushgateway_http_(requests_total|push_duration_seconds|push_size_bytes)|gateway_groups)/.test(line),
    )
    .join('\n');

/** Registers the fuzz cases for a store made fresh by `newStore` for each property run. */
export function describeFuzzContract(name: string, newStore: () => GatewayStore | Promise<GatewayStore>, numRuns = 2000): void {
  describe(`fuzz contract: ${name}`, () => {
    it('never answers 5xx, and a refused push leaves the pushed data unchanged', async () => {
      const store = await newStore();
      let now = 1_700_000_000_000;
      const app = createGatewayApp({ store, config: defaultGatewayConfig, clock: () => (now += 1000) });
      const scrape = async () => pushedLines(await (await app.request('/metrics')).text());
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('PUT', 'POST'),
          fc.constantFrom('', '/aggregate'),
          fc.oneof(groupingPath, fc.constant('job/fuzz')),
          fc.oneof(
            textBody.map((body) => ({ body: new TextEncoder().encode(body) as Uint8Array, type: 'text/plain' })),
            protobufBody.map((body) => ({ body, type: protobufType })),
          ),
          fc.boolean(),
          async (method, prefix, path, { body, type }, gzip) => {
            const before = await scrape();
            const headers: Record<string, string> = { 'content-type': type, ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
            const response = await app.request(`${prefix}/metrics/${path}`, {
              method,
              headers,
              body: (gzip ? gzipSync(body) : body) as BodyInit,
            });
            expect(response.status).toBeLessThan(500);
            if (response.status >= 400) expect(await scrape()).toBe(before);
          },
        ),
        { numRuns },
      );
    }, 60_000);
  });
}
