// A point-in-time copy of a prom-client registry's counters, gauges and histograms, keyed for delta arithmetic.
// Built from `registry.getMetricsAsJSON()`, prom-client's public read API. Summaries are left out: the gateway's
// aggregation mode refuses them (quantiles cannot be summed).
import type { Labels } from '../core/model.js';

export interface ScalarSeries {
  labels: Labels;
  value: number;
}

export interface HistogramSeries {
  labels: Labels;
  /** Upper bounds in ascending order, the last one Infinity. */
  bounds: number[];
  /** Cumulative counts per bound, as exposed. */
  cumulative: number[];
  sum: number;
  count: number;
}

export type FamilySnapshot =
  | { name: string; help: string; type: 'counter' | 'gauge'; series: Map<string, ScalarSeries> }
  | { name: string; help: string; type: 'histogram'; series: Map<string, HistogramSeries> };

export type Snapshot = Map<string, FamilySnapshot>;

/** The shape of prom-client's `getMetricsAsJSON()` entries that this module reads. */
export interface PromJsonMetric {
  name: string;
  help: string;
  /** 'counter' | 'gauge' | 'histogram' | 'summary' at runtime (prom-client's typings call it an enum). */
  type: unknown;
  values: ReadonlyArray<{ value: number; labels: Partial<Record<string, string | number>>; metricName?: string }>;
}

/** Canonical identity of a label set: names sorted, so {a,b} and {b,a} are one series. */
export function labelKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

function stringLabels(labels: Partial<Record<string, string | number>>, without?: string): Labels {
  const result: Labels = {};
  for (const name in labels) if (name !== without && labels[name] !== undefined) result[name] = String(labels[name]);
  return result;
}

function parseBound(le: string | number | undefined): number {
  if (le === '+Inf' || le === undefined) return Infinity;
  return Number(le);
}

export function snapshotFromPromJson(metrics: readonly PromJsonMetric[]): Snapshot {
  const snapshot: Snapshot = new Map();
  for (const metric of metrics) {
    const type = String(metric.type);
    if (type === 'counter' || type === 'gauge') {
      const series = new Map<string, ScalarSeries>();
      for (const sample of metric.values) {
        const labels = stringLabels(sample.labels);
        series.set(labelKey(labels), { labels, value: sample.value });
      }
      snapshot.set(metric.name, { name: metric.name, help: metric.help, type, series });
    } else if (type === 'histogram') {
      const series = new Map<string, HistogramSeries>();
      for (const sample of metric.values) {
        const isBucket = sample.metricName === `${metric.name}_bucket`;
        const labels = stringLabels(sample.labels, isBucket ? 'le' : undefined);
        const key = labelKey(labels);
        let entry = series.get(key);
        if (!entry) series.set(key, (entry = { labels, bounds: [], cumulative: [], sum: 0, count: 0 }));
        if (isBucket) {
          entry.bounds.push(parseBound(sample.labels.le));
          entry.cumulative.push(sample.value);
        } else if (sample.metricName === `${metric.name}_sum`) {
          entry.sum = sample.value;
        } else if (sample.metricName === `${metric.name}_count`) {
          entry.count = sample.value;
        }
      }
      snapshot.set(metric.name, { name: metric.name, help: metric.help, type: 'histogram', series });
    }
  }
  return snapshot;
}
