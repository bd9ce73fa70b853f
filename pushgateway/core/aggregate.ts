// Aggregation mode: merge a delta push into the families stored for one group. Pure: nothing is
// mutated; touched families are copied (copy-on-write) and untouched ones are shared, so a push costs
// O(size of the push + size of the families it touches), never O(store). A push is checked whole before
// anything is built, so a refused push has no effect at all.
//
// The delta contract: a counter sample is what was counted since the client's last acknowledged push
// (added to the stored total; negative refused); a histogram sample carries the bucket counts, `_sum` and
// `_count` observed since then (added; bucket bounds must equal the stored ones; native buckets merged as
// core/native-histogram says, a native one never merged with a classic-only one); a gauge sample is a
// current value (it replaces the stored one per series); summaries are refused, because quantiles from
// different instances cannot be summed into anything meaningful; untyped samples are refused, because
// adding them loses data for whoever meant a gauge and replacing them loses it for whoever meant a counter.
import {
  type Bucket,
  type HistogramMetric,
  isHistogram,
  isSummary,
  type Metric,
  type MetricFamily,
  type NativeBuckets,
  type ScalarMetric,
} from './model.js';
import { mergeNative, nativeProblem } from './native-histogram.js';

/**
 * A family with the identity of each of its series: `labelTexts[i]` is the sorted label text of
 * `family.metrics[i]` (core/grouping labelText), as validation computes it (core/validate PreparedFamily)
 * and the memory store keeps it. Both arrays are treated as immutable.
 */
export interface KeyedFamily {
  family: MetricFamily;
  labelTexts: readonly string[];
}

/**
 * How a family's pushed series meet the stored ones when the type alone does not say it (OTLP: a DELTA up-down
 * counter is a gauge whose points add; a CUMULATIVE counter, histogram or summary replaces per series). undefined
 * keeps the type's rule: counters and histograms add, gauges replace.
 */
export type CombineOverride = (familyName: string) => 'add' | 'replace' | undefined;

const noOverride: CombineOverride = () => undefined;

export type AggregateResult = { ok: true; families: KeyedFamily[] } | { ok: false; message: string };

// Position of each series by label text. A stored family's labelTexts array is never mutated (see above),
// so an index built once for it stays valid; the WeakMap lets the index go with the array.
const seriesIndexCache = new WeakMap<readonly string[], Map<string, number>>();

function seriesIndex(keyed: KeyedFamily): Map<string, number> {
  let index = seriesIndexCache.get(keyed.labelTexts);
  if (!index) {
    index = new Map();
    keyed.labelTexts.forEach((text, position) => {
      index!.set(text, position);
    });
    seriesIndexCache.set(keyed.labelTexts, index);
  }
  return index;
}

function describeSeries(name: string, labelText: string): string {
  return `${name}{${labelText}}`;
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
function checkDelta(family: MetricFamily, metric: Metric, labelText: string): string | undefined {
  const where = describeSeries(family.name, labelText);
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
    if (metric.native) {
      const problem = nativeProblem(metric.native, metric.count);
      if (problem) return `histogram ${where}: ${problem}`;
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

/**
 * The checks of a delta push that need no stored state: no summaries or untyped families, no family or series twice,
 * counters and histogram counts finite and >= 0, buckets cumulative. Stores that merge elsewhere (the
 * Redis store merges inside Redis) run this first; aggregateFamilies runs it too.
 */
export function checkDeltaPush(delta: readonly KeyedFamily[], combine: CombineOverride = noOverride): string | undefined {
  const pushedNames = new Set<string>();
  for (const { family, labelTexts } of delta) {
    if (pushedNames.has(family.name)) return `metric family ${family.name} appears twice in the push`;
    pushedNames.add(family.name);
    if (combine(family.name) === 'replace') continue;
    if (family.type === 'summary' || family.metrics.some(isSummary)) {
      return `summary ${family.name} cannot be aggregated (quantiles from several instances do not add up); push it to /metrics or use a histogram`;
    }
    if (family.type === 'untyped') {
      return `untyped ${family.name} cannot be aggregated (it is unknown whether to add or replace it); declare its type, e.g. "# TYPE ${family.name} counter" or "# TYPE ${family.name} gauge"`;
    }
    const seen = new Set<string>();
    for (let i = 0; i < family.metrics.length; i++) {
      const text = labelTexts[i]!;
      if (seen.has(text)) return `series ${describeSeries(family.name, text)} appears twice in the push`;
      seen.add(text);
      const problem = checkDelta(family, family.metrics[i]!, text);
      if (problem) return problem;
    }
  }
  return undefined;
}

function addHistograms(stored: HistogramMetric, delta: HistogramMetric, native: NativeBuckets | undefined): HistogramMetric {
  const sum: HistogramMetric = {
    labels: stored.labels,
    buckets: stored.buckets.map((bucket, i) => ({
      upperBound: bucket.upperBound,
      cumulativeCount: bucket.cumulativeCount + delta.buckets[i]!.cumulativeCount,
    })),
    sum: stored.sum + delta.sum,
    count: stored.count + delta.count,
  };
  if (native) sum.native = native;
  return sum;
}

function copyMetric(metric: Metric): Metric {
  if (isHistogram(metric)) {
    const copy: HistogramMetric = {
      labels: metric.labels,
      buckets: metric.buckets.map((bucket) => ({ ...bucket })),
      sum: metric.sum,
      count: metric.count,
    };
    // Native buckets are never mutated once stored (merges build new ones), so they are shared.
    if (metric.native) copy.native = metric.native;
    return copy;
  }
  if (isSummary(metric))
    return { labels: metric.labels, quantiles: metric.quantiles.map((q) => ({ ...q })), sum: metric.sum, count: metric.count };
  return { labels: metric.labels, value: (metric as ScalarMetric).value };
}

/**
 * Merges `delta` (families with the grouping labels already applied, as validation leaves them) into one
 * group's families, looked up with `stored`. Returns the merged versions of the pushed families (the
 * group's other families are unaffected), or the reason the push is refused.
 */
export function aggregateFamilies(
  stored: (name: string) => KeyedFamily | undefined,
  delta: readonly KeyedFamily[],
  combine: CombineOverride = noOverride,
): AggregateResult {
  const adds = (family: MetricFamily) => (combine(family.name) ?? (family.type === 'gauge' ? 'replace' : 'add')) === 'add';
  // Phase 1: check everything, touching nothing.
  const problem = checkDeltaPush(delta, combine);
  if (problem) return { ok: false, message: problem };
  // Native merges are computed while checking (a merge can be refused) and used when building.
  const nativeMerges = new Map<HistogramMetric, NativeBuckets>();
  for (const { family, labelTexts } of delta) {
    const current = stored(family.name);
    if (!current) continue;
    if (current.family.type !== family.type) {
      return {
        ok: false,
        message: `metric ${family.name} is pushed as ${family.type} but is stored as ${current.family.type} in this group`,
      };
    }
    if (family.type !== 'histogram' || !adds(family)) continue;
    const index = seriesIndex(current);
    for (let i = 0; i < family.metrics.length; i++) {
      const position = index.get(labelTexts[i]!);
      const previous = position === undefined ? undefined : current.family.metrics[position];
      const pushed = family.metrics[i] as HistogramMetric;
      if (previous && isHistogram(previous) && (previous.native === undefined) !== (pushed.native === undefined)) {
        const [pushedKind, storedKind] = pushed.native ? ['native', 'classic'] : ['classic', 'native'];
        return {
          ok: false,
          message: `histogram ${describeSeries(family.name, labelTexts[i]!)} is pushed as a ${pushedKind} histogram but is stored as a ${storedKind} one`,
        };
      }
      if (previous && isHistogram(previous) && previous.native && pushed.native) {
        const result = mergeNative(previous.native, pushed.native);
        if (!result.ok) return { ok: false, message: `histogram ${describeSeries(family.name, labelTexts[i]!)}: ${result.reason}` };
        nativeMerges.set(pushed, result.native);
      }
      if (previous && isHistogram(previous) && !sameBounds(previous.buckets, pushed.buckets)) {
        return {
          ok: false,
          message: `histogram ${describeSeries(family.name, labelTexts[i]!)}: bucket bounds ${formatBounds(pushed.buckets)} differ from the stored ${formatBounds(previous.buckets)}`,
        };
      }
    }
  }

  // Phase 2: build the merged families; stored objects are shared where untouched, never changed.
  const merged: KeyedFamily[] = [];
  for (const { family, labelTexts } of delta) {
    const current = stored(family.name);
    const metrics = current ? current.family.metrics.slice() : [];
    // Map iteration follows insertion order, which is metric order: its keys are the new labelTexts.
    let index = current ? new Map(seriesIndex(current)) : new Map<string, number>();
    let added = false;
    for (let i = 0; i < family.metrics.length; i++) {
      const metric = family.metrics[i]!;
      const text = labelTexts[i]!;
      const position = index.get(text);
      const previous = position === undefined ? undefined : metrics[position];
      let next: Metric;
      if (!previous || !adds(family)) next = copyMetric(metric);
      else if (family.type === 'counter' || family.type === 'gauge')
        next = { labels: previous.labels, value: (previous as ScalarMetric).value + (metric as ScalarMetric).value };
      else if (family.type === 'histogram')
        next = addHistograms(previous as HistogramMetric, metric as HistogramMetric, nativeMerges.get(metric as HistogramMetric));
      else next = copyMetric(metric);
      if (position === undefined) {
        index.set(text, metrics.length);
        metrics.push(next);
        added = true;
      } else {
        metrics[position] = next;
      }
    }
    let texts = [...index.keys()];
    if (added) {
      // New series take their place in label order, so the rendered family does not depend on which
      // instance pushed first (and matches the Redis store, which renders in label order too).
      const order = texts.map((text, i) => [text, i] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const sorted = order.map(([, i]) => metrics[i]!);
      for (let i = 0; i < sorted.length; i++) metrics[i] = sorted[i]!;
      texts = order.map(([text]) => text);
      index = new Map(texts.map((text, i) => [text, i]));
    }
    seriesIndexCache.set(texts, index);
    merged.push({
      family: { name: family.name, help: family.help ?? current?.family.help, type: family.type, metrics },
      labelTexts: texts,
    });
  }
  return { ok: true, families: merged };
}
