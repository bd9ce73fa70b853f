// How the memory store holds one family of one group, compactly: what a stored series costs is most of the
// gateway's memory. A counter, gauge or untyped family keeps no object per series: its values are one
// Float64Array, and each series' labels exist only as its label text, which is itself a slice of the rendered
// sample lines (V8 keeps a slice as a pointer and an offset, not a copy). Histograms and summaries keep their
// metric objects (buckets and quantiles are objects anyway), with labels rebuilt from the label text, so no
// stored value is a slice of the request body that carried it (which would keep the whole body alive).
// A MetricFamily is rebuilt on demand for the readers that want one (snapshots, JSON API, remote write).

import type { KeyedFamily } from '../core/aggregate.js';
import { parseLabelText } from '../core/grouping.js';
import { isHistogram, type Labels, type Metric, type MetricFamily, type MetricType, type ScalarMetric } from '../core/model.js';
import { familyLineSlicesSteps } from '../core/scrape-body.js';
import { SLICE, type Sliced } from '../core/slices.js';
import { utf8ByteLengthSteps } from '../core/validate.js';

export interface StoredFamily {
  name: string;
  help: string | undefined;
  type: MetricType;
  /** Sorted label text of each series (core/grouping labelText), as in its series key. */
  labelTexts: readonly string[];
  /** Counter, gauge, untyped: the value of each series, in labelTexts order. */
  values: Float64Array | undefined;
  /** Histogram, summary: the metrics, in labelTexts order. */
  metrics: Metric[] | undefined;
  /** Rendered sample lines (identical in text and OpenMetrics). */
  lines: string;
  /** UTF-8 length of `lines` plus the native buckets: what this family adds to the gateway's stored bytes. */
  bytes: number;
}

const isScalar = (type: MetricType) => type !== 'histogram' && type !== 'summary';

// V8 makes a slice (SlicedString) only from this many characters on; a shorter text is kept as it is.
const MIN_SLICE_LENGTH = 13;

/** The family's lines rendered, and the family in its stored form; pauses every SLICE series (core/slices). */
export function* storedFamilySteps({ family, labelTexts }: KeyedFamily): Sliced<StoredFamily> {
  const { metrics } = family;
  // One flat string per slice of series (familyLineSlicesSteps), which that slice's label texts can be slices of.
  const slices = yield* familyLineSlicesSteps(family, labelTexts);
  const texts = new Array<string>(labelTexts.length);
  let lineBytes = 0;
  for (let k = 0; k < slices.length; k++) {
    const lines = slices[k]!;
    let from = 0;
    for (let i = k * SLICE; i < Math.min((k + 1) * SLICE, labelTexts.length); i++) {
      const text = labelTexts[i]!;
      // Any occurrence will do (the slice equals the text); the next one is searched from here, so this stays linear.
      const at = text.length < MIN_SLICE_LENGTH ? -1 : lines.indexOf(text, from);
      texts[i] = at < 0 ? text : lines.slice(at, at + text.length);
      if (at >= 0) from = at + text.length;
    }
    lineBytes += yield* utf8ByteLengthSteps(lines);
    if (k + 1 < slices.length) yield;
  }
  let values: Float64Array | undefined;
  let kept: Metric[] | undefined;
  if (isScalar(family.type)) {
    values = new Float64Array(metrics.length);
    for (let i = 0; i < metrics.length; i++) values[i] = (metrics[i] as ScalarMetric).value;
  } else {
    kept = new Array<Metric>(metrics.length);
    for (let i = 0; i < metrics.length; i++) {
      kept[i] = { ...metrics[i]!, labels: parseLabelText(texts[i]!) };
      if ((i + 1) % SLICE === 0) yield;
    }
  }
  return {
    name: family.name,
    help: family.help,
    type: family.type,
    labelTexts: texts,
    values,
    metrics: kept,
    lines: concatenated(slices),
    bytes: lineBytes + nativeBytes(family),
  };
}

/**
 * The strings concatenated pairwise, so V8 holds the result as a balanced tree of them (a cons string) rather
 * than copying them into one: the family's lines are only ever appended to a scrape body, and the scrape copies
 * them into its own flat string when it writes, as it copies flat lines today.
 */
function concatenated(parts: readonly string[]): string {
  if (parts.length === 0) return '';
  let level = [...parts];
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? level[i]! + level[i + 1]! : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** Shared by the metrics rebuilt without labels (see familyOf); never written to. */
const noLabels: Labels = Object.freeze({}) as Labels;

/**
 * The stored family as a MetricFamily. `labels: 'omitted'` gives counters, gauges and untyped series one shared,
 * empty labels object: for a reader that identifies series by their label text (aggregation) and would
 * otherwise rebuild labels it never reads.
 */
export function familyOf(stored: StoredFamily, labels: 'rebuilt' | 'omitted' = 'rebuilt'): MetricFamily {
  const { values, labelTexts } = stored;
  let metrics: Metric[];
  if (values) {
    metrics = new Array<Metric>(values.length);
    for (let i = 0; i < values.length; i++)
      metrics[i] = { labels: labels === 'rebuilt' ? parseLabelText(labelTexts[i]!) : noLabels, value: values[i]! };
  } else {
    metrics = stored.metrics!;
  }
  return { name: stored.name, help: stored.help, type: stored.type, metrics };
}

/**
 * Native buckets are not in the text lines but are held and served in protobuf: each counts as the 8 bytes of
 * its count (plus 8 per span), so GATEWAY_MAX_STORED_BYTES bounds them too.
 */
function nativeBytes(family: MetricFamily): number {
  if (family.type !== 'histogram') return 0;
  let bytes = 0;
  for (const metric of family.metrics) {
    const native = isHistogram(metric) ? metric.native : undefined;
    if (native)
      bytes +=
        8 * (native.positiveCounts.length + native.negativeCounts.length + native.positiveSpans.length + native.negativeSpans.length);
  }
  return bytes;
}
