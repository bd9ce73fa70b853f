// Read endpoints: GET /metrics (text 0.0.4, or OpenMetrics when the scraper prefers it), the official
// JSON API (/api/v1/metrics, /api/v1/status), health and readiness.
import type { Env, Hono } from 'hono';
import { formatGoFloat } from '../core/float.js';
import { pushFailureTimeFamily, pushTimeFamily, renderGroups } from '../core/scrape-body.js';
import { isHistogram, isSummary, type Group, type Metric, type MetricFamily } from '../core/model.js';
import { contentTypes, endOfExposition, negotiateFormat, renderHeader, type ExpositionFormat } from '../core/exposition-format.js';
import type { GatewayStore, StoreStats } from '../store/types.js';
import { jsonError } from './errors.js';
import type { RequestCounter } from './request-metrics.js';

export interface ReadRouteOptions {
  store: GatewayStore;
  clock: () => number;
  requests: RequestCounter;
  startedAtMs: number;
  /** Flags shown by /api/v1/status (the effective configuration, secrets left out). */
  flags: Record<string, string>;
  version: string;
  /** Store failures so far (gateway_store_errors_total). */
  storeErrors: () => number;
  /** Called when the store fails on a read (counted and logged like failures on pushes). */
  onStoreError: (error: unknown) => void;
  /** Extra text appended to /metrics (the Node server adds process metrics). */
  extraMetrics?: (format: ExpositionFormat) => string;
  /** GATEWAY_MAX_SERIES (0 = no limit), exposed as gateway_series_limit for the GatewayNearSeriesLimit alert. */
  seriesLimit?: number;
}

function seriesLimitMetric(format: ExpositionFormat, limit: number): string {
  return renderHeader({ name: 'gateway_series_limit', help: 'Series the gateway accepts before refusing pushes with 429 (GATEWAY_MAX_SERIES; 0 = no limit).', type: 'gauge' }, format) + `gateway_series_limit ${formatGoFloat(limit)}\n`;
}

function selfMetrics(format: ExpositionFormat, stats: StoreStats, requests: RequestCounter, storeErrors: number): string {
  const family = (name: string, type: 'counter' | 'gauge', help: string, lines: string) => renderHeader({ name, help, type }, format) + lines;
  return (
    family('gateway_groups', 'gauge', 'Groups held by the gateway.', `gateway_groups ${formatGoFloat(stats.groups)}\n`) +
    (stats.idempotencyKeysEvicted === undefined
      ? ''
      : family('gateway_idempotency_keys_evicted_total', 'counter', 'Idempotency-Keys forgotten before their window ended because GATEWAY_MAX_IDEMPOTENCY_BYTES was reached.', `gateway_idempotency_keys_evicted_total ${formatGoFloat(stats.idempotencyKeysEvicted)}\n`)) +
    family('gateway_pushes_deduplicated_total', 'counter', 'Pushes not applied again because their Idempotency-Key was already applied.', `gateway_pushes_deduplicated_total ${formatGoFloat(stats.deduplicatedPushes)}\n`) +
    family('gateway_series', 'gauge', 'Series (label sets) held by the gateway.', `gateway_series ${formatGoFloat(stats.series)}\n`) +
    family('gateway_store_errors_total', 'counter', 'Requests that failed because the store was unavailable.', `gateway_store_errors_total ${formatGoFloat(storeErrors)}\n`) +
    family('pushgateway_http_requests_total', 'counter', 'Total HTTP requests processed by the Pushgateway, excluding scrapes.', requests.lines())
  );
}

/** The official /api/v1/metrics shape: values as strings, types upper-case, per group. */
function apiMetric(metric: Metric): Record<string, unknown> {
  if (isHistogram(metric)) {
    return { labels: metric.labels, buckets: Object.fromEntries(metric.buckets.map((b) => [formatGoFloat(b.upperBound), formatGoFloat(b.cumulativeCount)])), count: formatGoFloat(metric.count), sum: formatGoFloat(metric.sum) };
  }
  if (isSummary(metric)) {
    return { labels: metric.labels, quantiles: Object.fromEntries(metric.quantiles.map((q) => [formatGoFloat(q.quantile), formatGoFloat(q.value)])), count: formatGoFloat(metric.count), sum: formatGoFloat(metric.sum) };
  }
  return { labels: metric.labels, value: formatGoFloat(metric.value) };
}

function apiFamily(family: Pick<MetricFamily, 'type' | 'help' | 'metrics'>, timeStamp: string): Record<string, unknown> {
  return { time_stamp: timeStamp, type: family.type.toUpperCase(), ...(family.help === undefined ? {} : { help: family.help }), metrics: family.metrics.map(apiMetric) };
}

export function apiGroup(group: Group): Record<string, unknown> {
  const timeStamp = new Date(group.lastPushMs).toISOString();
  const entry: Record<string, unknown> = { labels: group.labels, last_push_successful: group.lastFailureMs <= group.lastPushMs };
  for (const family of group.families.values()) entry[family.name] = apiFamily(family, timeStamp);
  for (const [timeFamily, ms] of [[pushTimeFamily, group.lastPushMs], [pushFailureTimeFamily, group.lastFailureMs]] as const) {
    entry[timeFamily.name] = apiFamily({ ...timeFamily, metrics: [{ labels: group.labels, value: ms / 1000 }] }, timeStamp);
  }
  return entry;
}

export function registerReadRoutes<E extends Env>(app: Hono<E>, options: ReadRouteOptions): void {
  const { store, clock, requests } = options;
  const unavailable = (error: unknown) => {
    options.onStoreError(error);
    return jsonError(503, 'store_unavailable', 'the gateway store is unavailable');
  };

  app.get('/metrics', async (c) => {
    const format = negotiateFormat(c.req.header('accept'));
    const now = clock();
    let pushed: string;
    let stats;
    try {
      pushed = store.exposition ? await store.exposition(now, format) : renderGroups(await store.groups(now), format);
      stats = await store.stats(now);
    } catch (error) {
      return unavailable(error);
    }
    const limit = options.seriesLimit === undefined ? '' : seriesLimitMetric(format, options.seriesLimit);
    const body = pushed + selfMetrics(format, stats, requests, options.storeErrors()) + limit + (options.extraMetrics?.(format) ?? '') + endOfExposition(format);
    return c.body(body, 200, { 'content-type': contentTypes[format] });
  });

  app.get('/api/v1/metrics', async (c) => {
    try {
      const groups = await store.groups(clock());
      return c.json({ status: 'success', data: groups.map(apiGroup) });
    } catch (error) {
      return unavailable(error);
    }
  });

  app.get('/api/v1/status', (c) =>
    c.json({
      status: 'success',
      data: { flags: options.flags, start_time: new Date(options.startedAtMs).toISOString(), build_information: { version: options.version, implementation: 'hono-edge-metrics gateway' } },
    }),
  );

  app.get('/-/healthy', (c) => c.text('OK'));
  app.get('/-/ready', async (c) => {
    try {
      await store.stats(clock());
      return c.text('OK');
    } catch {
      return c.text('store unavailable', 503);
    }
  });
}
