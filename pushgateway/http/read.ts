// Read endpoints: GET /metrics (text 0.0.4, or OpenMetrics when the scraper prefers it), the official
// JSON API (/api/v1/metrics, /api/v1/status), health and readiness.
import type { Env, Hono } from 'hono';
import { escapeGroups, groupsNeedEscaping } from '../core/escape-groups.js';
import { groupExpiresAtMs } from '../core/expiry.js';
import { contentTypes, type ExpositionFormat, endOfExposition, renderHeader } from '../core/exposition-format.js';
import { formatGoFloat } from '../core/float.js';
import { type BucketSpan, type Group, isHistogram, isSummary, type Metric, type MetricFamily, type NativeBuckets } from '../core/model.js';
import { bucketLowerBound, bucketUpperBound } from '../core/native-histogram.js';
import { pushFailureTimeFamily, pushTimeFamily, renderGroups } from '../core/scrape-body.js';
import { groupFamilies } from '../core/scrape-families.js';
import { negotiateNameEscaping, negotiateScrapeFormat } from '../core/scrape-negotiation.js';
import { parseTextExposition } from '../core/text-parser.js';
import type { GatewayStore, StoreStats } from '../store/types.js';
import { jsonError } from './errors.js';
import type { PushSummaries } from './push-summaries.js';
import type { RequestCounter } from './request-metrics.js';

export interface ReadRouteOptions {
  store: GatewayStore;
  clock: () => number;
  requests: RequestCounter;
  pushSummaries?: PushSummaries;
  startedAtMs: number;
  /** Flags shown by /api/v1/status (the effective configuration, secrets left out). */
  flags: Record<string, string>;
  version: string;
  /** Store failures so far (gateway_store_errors_total). */
  storeErrors: () => number;
  /** Called when the store fails on a read (counted and logged like failures on pushes). */
  onStoreError: (error: unknown) => void;
  /** Extra text appended to /metrics (the Node server adds process metrics). */
  extraMetrics?: (format: ExpositionFormat) => string | Promise<string>;
  /** GATEWAY_MAX_SERIES (0 = no limit), exposed as gateway_series_limit for the GatewayNearSeriesLimit alert. */
  seriesLimit?: number;
  /** GATEWAY_ENABLE_UTF8_NAMES: stored names may need escaping for scrapers that do not take UTF-8. */
  utf8Names?: boolean;
  /** GATEWAY_MAX_STORED_BYTES (0 = no limit): readiness fails while a store reports more (e.g. an old snapshot). */
  storedBytesLimit?: number;
  /** GATEWAY_GROUP_TTL_SECONDS in ms (0 = never), for each group's expiry in /api/v1/metrics. */
  groupTtlMs?: number;
}

function seriesLimitMetric(format: ExpositionFormat, limit: number): string {
  return `${renderHeader(
    {
      name: 'gateway_series_limit',
      help: 'Series the gateway accepts before refusing pushes with 429 (GATEWAY_MAX_SERIES; 0 = no limit).',
      type: 'gauge',
    },
    format,
  )}gateway_series_limit ${formatGoFloat(limit)}\n`;
}

function selfMetrics(format: ExpositionFormat, stats: StoreStats, requests: RequestCounter, storeErrors: number): string {
  const family = (name: string, type: 'counter' | 'gauge', help: string, lines: string) =>
    renderHeader({ name, help, type }, format) + lines;
  return (
    family('gateway_groups', 'gauge', 'Groups held by the gateway.', `gateway_groups ${formatGoFloat(stats.groups)}\n`) +
    (stats.idempotencyKeysEvicted === undefined
      ? ''
      : family(
          'gateway_idempotency_keys_evicted_total',
          'counter',
          'Idempotency-Keys forgotten before their window ended because GATEWAY_MAX_IDEMPOTENCY_BYTES was reached.',
          `gateway_idempotency_keys_evicted_total ${formatGoFloat(stats.idempotencyKeysEvicted)}\n`,
        )) +
    family(
      'gateway_pushes_deduplicated_total',
      'counter',
      'Pushes not applied again because their Idempotency-Key was already applied.',
      `gateway_pushes_deduplicated_total ${formatGoFloat(stats.deduplicatedPushes)}\n`,
    ) +
    (stats.operationIdsEvicted === undefined
      ? ''
      : family(
          'gateway_operation_ids_evicted_total',
          'counter',
          'Redis store: push-call operation ids forgotten before their window ended because GATEWAY_MAX_OPERATION_ID_BYTES was reached.',
          `gateway_operation_ids_evicted_total ${formatGoFloat(stats.operationIdsEvicted)}\n`,
        )) +
    (stats.otlpStreamsEvicted === undefined
      ? ''
      : family(
          'gateway_otlp_streams_evicted_total',
          'counter',
          'OTLP delta streams whose last window was forgotten before the group TTL because GATEWAY_MAX_OTLP_STREAM_BYTES was reached.',
          `gateway_otlp_streams_evicted_total ${formatGoFloat(stats.otlpStreamsEvicted)}\n`,
        )) +
    family('gateway_series', 'gauge', 'Series (label sets) held by the gateway.', `gateway_series ${formatGoFloat(stats.series)}\n`) +
    (stats.storedBytes === undefined
      ? ''
      : family(
          'gateway_stored_bytes',
          'gauge',
          'UTF-8 bytes of stored series text (sample lines and group keys), bounded by GATEWAY_MAX_STORED_BYTES.',
          `gateway_stored_bytes ${formatGoFloat(stats.storedBytes)}\n`,
        )) +
    family(
      'gateway_store_errors_total',
      'counter',
      'Requests that failed because the store was unavailable.',
      `gateway_store_errors_total ${formatGoFloat(storeErrors)}\n`,
    ) +
    family(
      'pushgateway_http_requests_total',
      'counter',
      'Total HTTP requests processed by the Pushgateway, excluding scrapes.',
      requests.lines(),
    )
  );
}

/** Go's fmt.Sprint of a uint64 count (no exponent), or of a float one. */
function formatCount(count: number): string {
  return Number.isSafeInteger(count) ? String(count) : formatGoFloat(count);
}

/**
 * Native buckets as the official gateway lists them (and Prometheus' query API): [boundaries, lower, upper, count]
 * for each populated bucket, most negative first; boundaries 0 = (lower, upper], 1 = [lower, upper), 3 = [lower, upper].
 */
function nativeApiBuckets(native: NativeBuckets): Array<[number, string, string, string]> {
  const out: Array<[number, string, string, string]> = [];
  const side = (spans: readonly BucketSpan[], counts: readonly number[]) => {
    const buckets: Array<[number, number]> = [];
    let index = 0;
    let position = 0;
    for (const span of spans) {
      index += span.offset;
      for (let j = 0; j < span.length; j++, index++, position++) if (counts[position] !== 0) buckets.push([index, counts[position]!]);
    }
    return buckets;
  };
  const negative = side(native.negativeSpans, native.negativeCounts);
  for (let i = negative.length - 1; i >= 0; i--) {
    const [index, count] = negative[i]!;
    out.push([
      1,
      formatGoFloat(-bucketUpperBound(native.schema, index)),
      formatGoFloat(-bucketLowerBound(native.schema, index)),
      formatCount(count),
    ]);
  }
  if (native.zeroCount !== 0)
    out.push([3, formatGoFloat(-native.zeroThreshold), formatGoFloat(native.zeroThreshold), formatCount(native.zeroCount)]);
  for (const [index, count] of side(native.positiveSpans, native.positiveCounts))
    out.push([
      0,
      formatGoFloat(bucketLowerBound(native.schema, index)),
      formatGoFloat(bucketUpperBound(native.schema, index)),
      formatCount(count),
    ]);
  return out;
}

/** The official /api/v1/metrics shape: values as strings, types upper-case, per group. */
function apiMetric(metric: Metric): Record<string, unknown> {
  if (isHistogram(metric) && metric.native) {
    return {
      labels: metric.labels,
      sum: formatGoFloat(metric.sum),
      count: formatCount(metric.count),
      buckets: nativeApiBuckets(metric.native),
    };
  }
  if (isHistogram(metric)) {
    return {
      labels: metric.labels,
      buckets: Object.fromEntries(metric.buckets.map((b) => [formatGoFloat(b.upperBound), formatGoFloat(b.cumulativeCount)])),
      count: formatGoFloat(metric.count),
      sum: formatGoFloat(metric.sum),
    };
  }
  if (isSummary(metric)) {
    return {
      labels: metric.labels,
      quantiles: Object.fromEntries(metric.quantiles.map((q) => [formatGoFloat(q.quantile), formatGoFloat(q.value)])),
      count: formatGoFloat(metric.count),
      sum: formatGoFloat(metric.sum),
    };
  }
  return { labels: metric.labels, value: formatGoFloat(metric.value) };
}

function apiFamily(family: Pick<MetricFamily, 'type' | 'help' | 'metrics'>, timeStamp: string): Record<string, unknown> {
  return {
    time_stamp: timeStamp,
    type: family.type.toUpperCase(),
    ...(family.help === undefined ? {} : { help: family.help }),
    metrics: family.metrics.map(apiMetric),
  };
}

/**
 * The key of what only this gateway knows about a group, beside the official fields of its /api/v1/metrics entry.
 * `@` is in no legacy metric name, so it cannot be taken for a family by clients that read the other keys as
 * families; a family of that very name (possible only with UTF-8 names) wins, as the official fields must.
 */
export const GATEWAY_GROUP_FIELD = '@gateway';

function gatewayGroupFields(group: Group, groupTtlMs: number): Record<string, unknown> {
  const expiresAtMs = groupExpiresAtMs(group, groupTtlMs);
  return {
    write_mode: group.writeMode ?? null,
    deduplicated_retries: group.deduplicatedRetries,
    ttl_seconds: groupTtlMs / 1000,
    expires_at: expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString(),
  };
}

export function apiGroup(group: Group, groupTtlMs = 0): Record<string, unknown> {
  const timeStamp = new Date(group.lastPushMs).toISOString();
  // The group's labels as the URL gave them: the official leaves out an instance the URL did not name, and an empty
  // instance is what a URL without one means here (core/grouping groupIdentity).
  const { instance, ...urlLabels } = group.labels;
  const labels = instance === '' ? urlLabels : group.labels;
  const entry: Record<string, unknown> = {
    labels,
    last_push_successful: group.lastFailureMs <= group.lastPushMs,
    [GATEWAY_GROUP_FIELD]: gatewayGroupFields(group, groupTtlMs),
  };
  for (const family of group.families.values()) entry[family.name] = apiFamily(family, timeStamp);
  for (const [timeFamily, ms] of [
    [pushTimeFamily, group.lastPushMs],
    [pushFailureTimeFamily, group.lastFailureMs],
  ] as const) {
    entry[timeFamily.name] = apiFamily({ ...timeFamily, metrics: [{ labels: group.labels, value: ms / 1000 }] }, timeStamp);
  }
  return entry;
}

/**
 * The official build_information keys (main.go buildInfo) that mean something here; like an unstamped Go build,
 * the ones nobody stamped are empty. `goVersion` is left out: `runtime` says what runs the gateway instead.
 */
function buildInformation(version: string): Record<string, string> {
  const runtime = typeof navigator === 'undefined' ? 'unknown' : navigator.userAgent;
  return { version, revision: '', branch: '', buildUser: '', buildDate: '', implementation: 'hono-edge-metrics gateway', runtime };
}

export function registerReadRoutes<E extends Env>(app: Hono<E>, options: ReadRouteOptions): void {
  const { store, clock, requests } = options;
  // Why the last scrape failed, until one succeeds: readiness must not say OK while every scrape answers 503.
  let scrapeFailure: string | undefined;
  const unavailable = (error: unknown) => {
    options.onStoreError(error);
    scrapeFailure = error instanceof Error ? error.message : String(error);
    return jsonError(503, 'store_unavailable', 'the gateway store is unavailable');
  };
  const pushedText = async (now: number, format: ExpositionFormat) =>
    store.exposition ? await store.exposition(now, format) : renderGroups(await store.groups(now), format);

  /** The gateway's own metrics (after the pushed ones) as exposition text. */
  const ownMetrics = async (format: ExpositionFormat, stats: { groups: number; series: number; deduplicatedPushes: number }) => {
    const limit = options.seriesLimit === undefined ? '' : seriesLimitMetric(format, options.seriesLimit);
    return (
      selfMetrics(format, stats, requests, options.storeErrors()) +
      (options.pushSummaries?.render(format) ?? '') +
      limit +
      ((await options.extraMetrics?.(format)) ?? '')
    );
  };

  app.get('/metrics', async (c) => {
    const accept = c.req.header('accept');
    const scrapeFormat = negotiateScrapeFormat(accept);
    // Names outside the legacy set exist only with UTF-8 names on; a scraper that did not ask for them by
    // `escaping=allow-utf-8` gets them escaped (underscores unless it named another scheme). The scheme is named
    // in the Content-Type only for a scraper that named one, so older scrapers see the 1.5.1 header unchanged.
    const escapingAsked = negotiateNameEscaping(accept);
    const escaping = options.utf8Names ? (escapingAsked ?? 'underscores') : 'allow-utf-8';
    const contentType = (type: string) => (escapingAsked === undefined ? type : `${type}; escaping=${escapingAsked}`);
    const now = clock();
    if (scrapeFormat === 'protobuf') {
      let groups;
      let stats;
      try {
        groups = escapeGroups(await store.groups(now), escaping);
        stats = await store.stats(now);
      } catch (error) {
        return unavailable(error);
      }
      // The gateway's own metrics are written once, as text, and read back into families for the encoder.
      const families = [...groupFamilies(groups), ...parseTextExposition(await ownMetrics('text', stats)).families];
      // Imported on the first protobuf scrape (Prometheus asks for it only with native histograms on).
      const { encodeDelimitedFamilies, protobufContentType } = await import('../core/protobuf-exposition.js');
      return c.body(encodeDelimitedFamilies(families), 200, { 'content-type': contentType(protobufContentType) });
    }
    const format = scrapeFormat;
    let pushed: string;
    let stats;
    try {
      // The memory store's render cache holds names as stored (the allow-utf-8 form); escaped names bypass it.
      const groups = escaping === 'allow-utf-8' ? undefined : await store.groups(now);
      if (groups && groupsNeedEscaping(groups)) pushed = renderGroups(escapeGroups(groups, escaping), format);
      else pushed = groups && !store.exposition ? renderGroups(groups, format) : await pushedText(now, format);
      stats = await store.stats(now);
    } catch (error) {
      return unavailable(error);
    }
    const body = pushed + (await ownMetrics(format, stats)) + endOfExposition(format);
    scrapeFailure = undefined;
    return c.body(body, 200, { 'content-type': contentType(contentTypes[format]) });
  });

  app.get('/api/v1/metrics', async (c) => {
    try {
      const groups = await store.groups(clock());
      return c.json({ status: 'success', data: groups.map((group) => apiGroup(group, options.groupTtlMs ?? 0)) });
    } catch (error) {
      return unavailable(error);
    }
  });

  app.get('/api/v1/status', (c) =>
    c.json({
      status: 'success',
      data: {
        flags: options.flags,
        start_time: new Date(options.startedAtMs).toISOString(),
        build_information: buildInformation(options.version),
      },
    }),
  );

  app.get('/-/healthy', (c) => c.text('OK'));
  // Ready means a scrape would succeed: the store answers, holds no more than its byte bound, and — once a scrape
  // failed — renders again (tried here only in that case, so a probe costs a stats call otherwise).
  app.get('/-/ready', async (c) => {
    const now = clock();
    let stats: StoreStats;
    try {
      stats = await store.stats(now);
    } catch {
      return c.text('store unavailable', 503);
    }
    const limit = options.storedBytesLimit ?? 0;
    if (limit > 0 && stats.storedBytes !== undefined && stats.storedBytes > limit)
      return c.text(`the store holds ${stats.storedBytes} bytes, more than GATEWAY_MAX_STORED_BYTES=${limit}`, 503);
    if (scrapeFailure !== undefined) {
      try {
        await pushedText(now, 'text');
        scrapeFailure = undefined;
      } catch (error) {
        scrapeFailure = error instanceof Error ? error.message : String(error);
        return c.text(`scrapes fail: ${scrapeFailure}`, 503);
      }
    }
    return c.text('OK');
  });
}
