// The gateway's data model, shared by the parsers (text, protobuf), the renderer, validation,
// aggregation and every store. It mirrors io.prometheus.client.MetricFamily: a family holds metrics,
// a metric is one label set with its value(s). Samples never carry timestamps: pushes that have one
// are refused, as by the official Pushgateway.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** Label name → value. Names are sorted when a series key is computed, never relied on here. */
export type Labels = Record<string, string>;

export interface Bucket {
  /** The `le` bound; `Infinity` for +Inf. */
  upperBound: number;
  /** Cumulative count, as exposed. */
  cumulativeCount: number;
}

export interface Quantile {
  quantile: number;
  value: number;
}

/** counter, gauge, untyped */
export interface ScalarMetric {
  labels: Labels;
  value: number;
}

export interface HistogramMetric {
  labels: Labels;
  /** Sorted by upperBound, ending with +Inf. */
  buckets: Bucket[];
  sum: number;
  count: number;
}

export interface SummaryMetric {
  labels: Labels;
  quantiles: Quantile[];
  sum: number;
  count: number;
}

export type Metric = ScalarMetric | HistogramMetric | SummaryMetric;

export interface MetricFamily {
  name: string;
  /** undefined when the push had no HELP line (the official gateway then shows a default HELP). */
  help: string | undefined;
  type: MetricType;
  metrics: Metric[];
}

/** One push group: identified by its grouping labels (always including `job`). */
export interface Group {
  /** Canonical key of the grouping labels (see groupKey in core/grouping). */
  key: string;
  /** Grouping labels, `job` first in rendering; `instance` is "" when not given. */
  labels: Labels;
  /** Families by name, with the grouping labels already applied to every metric. */
  families: Map<string, MetricFamily>;
  /** Unix ms of the last successful push (push_time_seconds). */
  lastPushMs: number;
  /** Unix ms of the last refused push (push_failure_time_seconds), 0 if none. */
  lastFailureMs: number;
}

export function isHistogram(metric: Metric): metric is HistogramMetric {
  return 'buckets' in metric;
}

export function isSummary(metric: Metric): metric is SummaryMetric {
  return 'quantiles' in metric;
}
