// Aggregation mode: merge a delta push into the families stored for one group. Pure: nothing is
// mutated; touched families are copied (copy-on-write) and untouched ones are shared, so a push costs
// O(size of the push + size of the families it touches), never O(store). A push is checked whole before
// anything is built, so a refused push has no effect at all.
//
// The delta contract: a counter sample is what was counted since the client's last acknowledged push
// (added to the stored total; negative refused); a histogram sample carries the bucket counts, `_sum` and
// `_count` observed since then (added; bucket bounds must equal the stored ones); a gauge or untyped sample
// is a current value (it replaces the stored one per series); summaries are refused, because quantiles
// from different instances cannot be summed into anything meaningful.
import {
  isHistogram,
  isSummary,
  type Bucket,
  type HistogramMetric,
  type Labels,
  type Metric,
  type MetricFamily,
  type ScalarMetric,
} from './model.js';

export type AggregateResult =
  | { ok: true; families: Map<string, MetricFamily> }
  | { ok: false; message: string };

/** Canonical identity of a series within a family: its labels sorted by name. */
export function seriesKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

// Index of a stored family's series by key. Families are never mutated (see above), so an index built
// once for a family object stays valid for its lifetime; a WeakMap lets it go with the family.
const seriesIndexCache = new WeakMap<MetricFamily, Map<string, number>>();

function seriesIndex(family: MetricFamily): Map<string, number> {
  let index = seriesIndexCache.get(family);
  if (!index) {
    index = new Map();
    family.metrics.forEach((metric, position) => index!.set(seriesKey(metric.labels), position));
    seriesIndexCache.set(family, index);
  }
  return index;
}

function describeSeries(name: string, labels: Labels): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((label) => `${label}=${JSON.stringify(labels[label])}`);
  return `${name}{${pairs.join(',')}}`;
}

function sameBounds(left: readonly Bucket[], right: readonly Bucket[]): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i]!.upperBound !== right[i]!.upperBound) return false;
  return true;
}

function formatBounds(buckets: readonly Bucket[]): string {
  return `[${buckets.map((bucket) => (bucket.upperBound === Infinity ? '+Inf' : String(bucket.upperBound))).join(', ')}]`;
}

/** Checks one pushed series on its own (no stored state); returns a message when it is not a valid delta. */
function checkDelta(family: MetricFamily, metric: Metric): string | undefined {
  const where = describeSeries(family.name, metric.labels);
  if (family.type === 'counter') {
    const { value } = metric as ScalarMetric;
    if (!Number.isFinite(value) || value < 0) {
      return `counter ${where}: a delta must be a finite number >= 0, got ${value}`;
    }
  } else if (family.type === 'histogram') {
    if (!isHistogram(metric)) return `histogram ${where} has no buckets`;
    if (!Number.isFinite(metric.sum)) return `histogram ${where}: _sum delta must be finite, got ${metric.sum}`;
    if (!Number.isFinite(metric.count) || metric.count < 0) {
      return `histogram ${where}: _count delta must be a finite number >= 0, got ${metric.count}`;
    }
    let previous = 0;
    for (const bucket of metric.buckets) {
      const count = bucket.cumulativeCount;
      if (!Number.isFinite(count) || count < previous) {
        return `histogram ${where}: bucket counts must be finite, >= 0 and cumulative (le=${bucket.upperBound})`;
      }
      previous = count;
    }
  }
  return undefined;
}

function addHistograms(stored: HistogramMetric, delta: HistogramMetric): HistogramMetric {
  return {
    labels: stored.labels,
    buckets: stored.buckets.map((bucket, i) => ({
      upperBound: bucket.upperBound,
      cumulativeCount: bucket.cumulativeCount + delta.buckets[i]!.cumulativeCount,
    })),
    sum: stored.sum + delta.sum,
    count: stored.count + delta.count,
  };
}

function copyMetric(metric: Metric): Metric {
  if (isHistogram(metric)) {
    return { labels: metric.labels, buckets: metric.buckets.map((bucket) => ({ ...bucket })), sum: metric.sum, count: metric.count };
  }
  return { labels: metric.labels, value: (metric as ScalarMetric).value };
}

/**
 * Merges `delta` (families with the grouping labels already applied, as validation leaves them) into
 * `stored` (one group's families). Returns the group's new family map, or the reason the push is refused.
 */
export function aggregateFamilies(stored: ReadonlyMap<string, MetricFamily>, delta: readonly MetricFamily[]): AggregateResult {
  // Phase 1: check everything, touching nothing.
  const pushedNames = new Set<string>();
  for (const family of delta) {
    if (pushedNames.has(family.name)) return { ok: false, message: `metric family ${family.name} appears twice in the push` };
    pushedNames.add(family.name);
    if (family.type === 'summary' || family.metrics.some(isSummary)) {
      return {
        ok: false,
        message: `summary ${family.name} cannot be aggregated (quantiles from several instances do not add up); push it to /metrics or use a histogram`,
      };
    }
    const current = stored.get(family.name);
    if (current && current.type !== family.type) {
      return { ok: false, message: `metric ${family.name} is pushed as ${family.type} but is stored as ${current.type} in this group` };
    }
    const index = current ? seriesIndex(current) : undefined;
    const seen = new Set<string>();
    for (const metric of family.metrics) {
      const key = seriesKey(metric.labels);
      if (seen.has(key)) return { ok: false, message: `series ${describeSeries(family.name, metric.labels)} appears twice in the push` };
      seen.add(key);
      const problem = checkDelta(family, metric);
      if (problem) return { ok: false, message: problem };
      if (family.type === 'histogram' && current && index) {
        const position = index.get(key);
        const previous = position === undefined ? undefined : current.metrics[position];
        if (previous && isHistogram(previous) && !sameBounds(previous.buckets, (metric as HistogramMetric).buckets)) {
          return {
            ok: false,
            message:
              `histogram ${describeSeries(family.name, metric.labels)}: bucket bounds ${formatBounds((metric as HistogramMetric).buckets)} ` +
              `differ from the stored ${formatBounds(previous.buckets)}`,
          };
        }
      }
    }
  }

  // Phase 2: build the new families; stored objects are shared where untouched, never changed.
  const result = new Map(stored);
  for (const family of delta) {
    const current = stored.get(family.name);
    const metrics = current ? current.metrics.slice() : [];
    const index = current ? new Map(seriesIndex(current)) : new Map<string, number>();
    for (const metric of family.metrics) {
      const key = seriesKey(metric.labels);
      const position = index.get(key);
      const previous = position === undefined ? undefined : metrics[position];
      let next: Metric;
      if (!previous) next = copyMetric(metric);
      else if (family.type === 'counter') next = { labels: previous.labels, value: (previous as ScalarMetric).value + (metric as ScalarMetric).value };
      else if (family.type === 'histogram') next = addHistograms(previous as HistogramMetric, metric as HistogramMetric);
      else next = copyMetric(metric);
      if (position === undefined) {
        index.set(key, metrics.length);
        metrics.push(next);
      } else {
        metrics[position] = next;
      }
    }
    const merged: MetricFamily = { name: family.name, help: family.help ?? current?.help, type: family.type, metrics };
    seriesIndexCache.set(merged, index);
    result.set(family.name, merged);
  }
  return { ok: true, families: result };
}
