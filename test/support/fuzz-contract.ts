// Fuzz contract for any gateway store: arbitrary text and protobuf bodies, grouping paths and encodings
// never answer 5xx, and a refused push leaves the pushed data on /metrics byte-identical. A refusal still
// records push_failure_time_seconds (as the official gateway does) and is counted in
// pushgateway_http_requests_total and the push duration and size summaries, so those lines (and gateway_groups and
// gateway_stored_bytes, which the empty group such a failure creates can raise) are left out of the comparison.
// The target is anything that answers HTTP as the gateway: the app over a store in this process (app.request), or
// the Workers build in workerd (dispatchFetch).
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig } from '../../pushgateway/config/gateway.js';
import type { GatewayStore } from '../../pushgateway/store/types.js';

export interface FuzzTarget {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Push token the target requires, if any. */
  token?: string;
}

/** The gateway app over `store`, driven in this process. */
export function appTarget(store: GatewayStore): FuzzTarget {
  let now = 1_700_000_000_000;
  const app = createGatewayApp({ store, config: defaultGatewayConfig, clock: () => (now += 1000) });
  return { fetch: async (path, init) => await app.request(path, init) };
}

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
        !/^(# (HELP|TYPE) )?(push_|pushgateway_http_(requests_total|push_duration_seconds|push_size_bytes)|gateway_groups|gateway_stored_bytes)/.test(
          line,
        ),
    )
    .join('\n');

/** Registers the fuzz cases against one target made by `newTarget` for the whole property. */
export function describeFuzzContract(
  name: string,
  newTarget: () => FuzzTarget | Promise<FuzzTarget>,
  numRuns = 2000,
  timeoutMs = 60_000,
): void {
  describe(`fuzz contract: ${name}`, () => {
    it(
      'never answers 5xx, and a refused push leaves the pushed data unchanged',
      async () => {
        const target = await newTarget();
        const scrape = async () => {
          const response = await target.fetch('/metrics');
          expect(response.status).toBe(200);
          return pushedLines(await response.text());
        };
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
              const headers: Record<string, string> = {
                'content-type': type,
                ...(gzip ? { 'content-encoding': 'gzip' } : {}),
                ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
              };
              const response = await target.fetch(`${prefix}/metrics/${path}`, {
                method,
                headers,
                body: (gzip ? gzipSync(body) : body) as BodyInit,
              });
              const answer = await response.text();
              expect(response.status, answer).toBeLessThan(500);
              if (response.status >= 400) expect(await scrape()).toBe(before);
            },
          ),
          { numRuns },
        );
      },
      timeoutMs,
    );
  });
}
