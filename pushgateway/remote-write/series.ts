// The samples a scrape of the gateway would ingest (with honor_labels: true), taken from the store's groups,
// not from rendered text: every stored series with its grouping labels as stored, classic histograms as
// _bucket/_sum/_count, native histograms as remote-write Histogram samples, summaries as quantile series plus
// _sum/_count, and push_time_seconds and push_failure_time_seconds per group. Empty label values are left out, as a
// scrape drops them and the remote-write spec forbids them; labels are sorted by name in byte order, as the spec
// requires.
//
// One walk (`walkSeries`) feeds two sinks: `encodeSnapshot` writes every series straight into a reused request
// writer (what the gateway sends; no object per sample), `samplesOfGroups` builds sample objects (the readable
// form tests compare against).

import { formatGoFloat } from '../core/float.js';
import { type Group, type HistogramMetric, isHistogram, isSummary, type Labels } from '../core/model.js';
import { pushFailureTimeFamily, pushTimeFamily } from '../core/scrape-body.js';
import { type RemoteHistogram, type RemoteSample, WriteRequestWriter } from './encode.js';

interface SeriesSink {
  /** `keys`: the names of `labels` to send (no empty value, no __name__), sorted. `extraName` is '' for none. */
  float(name: string, suffix: string, labels: Labels, keys: readonly string[], extraName: string, extraValue: string, value: number): void;
  native(name: string, labels: Labels, keys: readonly string[], histogram: RemoteHistogram): void;
}

/** Bucket bounds and quantiles repeat across series: their text is formatted once per snapshot. */
class FloatTexts {
  private readonly texts = new Map<number, string>();
  get(value: number): string {
    let text = this.texts.get(value);
    if (text === undefined) {
      text = formatGoFloat(value);
      if (this.texts.size < 4096) this.texts.set(value, text);
    }
    return text;
  }
}

/** Fills `into` with the label names to send, sorted (insertion sort: a series has a handful, and it allocates nothing). */
function sortedKeys(labels: Labels, into: string[]): string[] {
  into.length = 0;
  for (const key in labels) {
    if (labels[key] === '' || key === '__name__') continue;
    let at = into.length;
    into.push(key);
    while (at > 0 && into[at - 1]! > key) {
      into[at] = into[at - 1]!;
      at--;
    }
    into[at] = key;
  }
  return into;
}

function walkSeries(groups: readonly Group[], sink: SeriesSink): void {
  const floats = new FloatTexts();
  const keys: string[] = [];
  for (const group of groups) {
    for (const family of group.families.values()) {
      const name = family.name;
      for (const metric of family.metrics) {
        const { labels } = metric;
        sortedKeys(labels, keys);
        if (isHistogram(metric) && metric.native) {
          // As a Prometheus with native histograms enabled ingests a scrape: the native histogram alone, under the
          // family's name, even when classic buckets came with it.
          sink.native(name, labels, keys, metric as HistogramMetric & RemoteHistogram);
        } else if (isHistogram(metric)) {
          for (const bucket of metric.buckets)
            sink.float(name, '_bucket', labels, keys, 'le', floats.get(bucket.upperBound), bucket.cumulativeCount);
          sink.float(name, '_sum', labels, keys, '', '', metric.sum);
          sink.float(name, '_count', labels, keys, '', '', metric.count);
        } else if (isSummary(metric)) {
          for (const quantile of metric.quantiles)
            sink.float(name, '', labels, keys, 'quantile', floats.get(quantile.quantile), quantile.value);
          sink.float(name, '_sum', labels, keys, '', '', metric.sum);
          sink.float(name, '_count', labels, keys, '', '', metric.count);
        } else {
          sink.float(name, '', labels, keys, '', '', metric.value);
        }
      }
    }
    sortedKeys(group.labels, keys);
    sink.float(pushTimeFamily.name, '', group.labels, keys, '', '', group.lastPushMs / 1000);
    sink.float(pushFailureTimeFamily.name, '', group.labels, keys, '', '', group.lastFailureMs / 1000);
  }
}

/**
 * Every series of `groups` as remote-write request bodies of at most `size` samples, each handed to `take` as soon
 * as it is full: a snapshot holds one uncompressed request at a time, in a buffer every batch reuses.
 */
export function encodeSnapshot(
  groups: readonly Group[],
  timestampMs: number,
  size: number,
  take: (body: Uint8Array<ArrayBuffer>, samples: number) => void,
): void {
  const writer = new WriteRequestWriter();
  const taken = () => {
    if (writer.samples >= size) take(writer.takeBody(), size);
  };
  walkSeries(groups, {
    float(name, suffix, labels, keys, extraName, extraValue, value) {
      writer.beginSeries();
      writeLabels(writer, name, suffix, labels, keys, extraName, extraValue);
      writer.sample(value, timestampMs);
      writer.endSeries();
      taken();
    },
    native(name, labels, keys, histogram) {
      writer.beginSeries();
      writeLabels(writer, name, '', labels, keys, '', '');
      writer.histogram(histogram, timestampMs);
      writer.endSeries();
      taken();
    },
  });
  if (writer.samples > 0) {
    const samples = writer.samples;
    take(writer.takeBody(), samples);
  }
}

/**
 * `__name__`, the series' labels and the extra label merged in byte order. On a tie the series' own label comes
 * first, as a stable sort of [__name__, ...labels, extra] would put it.
 */
function writeLabels(
  writer: WriteRequestWriter,
  name: string,
  suffix: string,
  labels: Labels,
  keys: readonly string[],
  extraName: string,
  extraValue: string,
): void {
  let namePending = true;
  let extraPending = extraName !== '';
  // One pass over the sorted keys; before each (and after the last), whichever of __name__ and the extra label
  // sorts before it goes out first.
  for (let index = 0; index <= keys.length; index++) {
    const key = keys[index];
    for (;;) {
      const nameFirst = namePending && (!extraPending || '__name__' < extraName);
      if (nameFirst && (key === undefined || '__name__' < key)) {
        writer.label('__name__', name, suffix);
        namePending = false;
      } else if (!nameFirst && extraPending && (key === undefined || extraName < key)) {
        writer.label(extraName, extraValue);
        extraPending = false;
      } else break;
    }
    if (key !== undefined) writer.label(key, labels[key]!);
  }
}

function byteOrder(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Every sample of every live group as objects, stamped with `timestampMs` (the send time). */
export function samplesOfGroups(groups: readonly Group[], timestampMs: number): RemoteSample[] {
  const samples: RemoteSample[] = [];
  const pairsOf = (name: string, labels: Labels, keys: readonly string[], extraName: string, extraValue: string) => {
    const pairs: Array<readonly [string, string]> = [['__name__', name]];
    for (const key of keys) pairs.push([key, labels[key]!]);
    if (extraName !== '') pairs.push([extraName, extraValue]);
    return pairs.sort(byteOrder);
  };
  walkSeries(groups, {
    float(name, suffix, labels, keys, extraName, extraValue, value) {
      samples.push({ labels: pairsOf(name + suffix, labels, keys, extraName, extraValue), value, timestampMs });
    },
    native(name, labels, keys, histogram) {
      samples.push({
        labels: pairsOf(name, labels, keys, '', ''),
        value: 0,
        timestampMs,
        histogram: { count: histogram.count, sum: histogram.sum, native: histogram.native },
      });
    },
  });
  return samples;
}
