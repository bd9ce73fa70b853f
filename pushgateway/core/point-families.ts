// The points of one OTLP group (after exactly-once judging) as the families of one aggregation push. Points of
// one series that the request carries twice — two streams that differ only in what does not become a label, such
// as resource attributes other than service.* or scope attributes — are combined here: added when they are
// deltas, the later one kept otherwise. Pure.
import type { CombineOverride } from './aggregate.js';
import { labelText } from './grouping.js';
import { type HistogramMetric, isHistogram, type Metric, type MetricFamily, type ScalarMetric } from './model.js';

export interface PointLike {
  name: string;
  help: string | undefined;
  type: MetricFamily['type'];
  metric: Metric;
  combine: 'add' | 'replace';
}

export type PointFamilies = { ok: true; families: MetricFamily[]; combine: CombineOverride } | { ok: false; message: string };

function addSameSeries(left: Metric, right: Metric): Metric | undefined {
  if (isHistogram(left) && isHistogram(right)) {
    if (left.native || right.native) return undefined;
    if (left.buckets.length !== right.buckets.length || left.buckets.some((b, i) => b.upperBound !== right.buckets[i]!.upperBound))
      return undefined;
    const sum: HistogramMetric = {
      labels: left.labels,
      buckets: left.buckets.map((b, i) => ({
        upperBound: b.upperBound,
        cumulativeCount: b.cumulativeCount + right.buckets[i]!.cumulativeCount,
      })),
      sum: left.sum + right.sum,
      count: left.count + right.count,
    };
    return sum;
  }
  if ('value' in left && 'value' in right) return { labels: left.labels, value: left.value + (right as ScalarMetric).value };
  return undefined;
}

export function familiesFromPoints(points: readonly PointLike[]): PointFamilies {
  const families = new Map<string, { family: MetricFamily; combine: 'add' | 'replace'; series: Map<string, number> }>();
  for (const point of points) {
    let entry = families.get(point.name);
    if (!entry) {
      entry = { family: { name: point.name, help: point.help, type: point.type, metrics: [] }, combine: point.combine, series: new Map() };
      families.set(point.name, entry);
    } else if (entry.family.type !== point.type || entry.combine !== point.combine) {
      return {
        ok: false,
        message: `metric ${point.name} is sent as ${entry.combine === 'add' ? 'delta' : 'cumulative'} ${entry.family.type} and as ${point.combine === 'add' ? 'delta' : 'cumulative'} ${point.type} in one request`,
      };
    }
    const text = labelText(point.metric.labels);
    const position = entry.series.get(text);
    if (position === undefined) {
      entry.series.set(text, entry.family.metrics.length);
      entry.family.metrics.push(point.metric);
    } else if (point.combine === 'replace') {
      entry.family.metrics[position] = point.metric;
    } else {
      const combined = addSameSeries(entry.family.metrics[position]!, point.metric);
      if (!combined)
        return { ok: false, message: `metric ${point.name}{${text}} comes twice in one request with buckets that cannot be added` };
      entry.family.metrics[position] = combined;
    }
  }
  const combine = new Map([...families].map(([name, entry]) => [name, entry.combine]));
  return { ok: true, families: [...families.values()].map((entry) => entry.family), combine: (name) => combine.get(name) };
}
