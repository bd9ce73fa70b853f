// The samples a scrape of the gateway would ingest (with honor_labels: true), taken from the store's groups,
// not from rendered text: every stored series with its grouping labels as stored, classic histograms as
// _bucket/_sum/_count, native histograms as remote-write Histogram samples, summaries as quantile series plus _sum/_count, and push_time_seconds and
// push_failure_time_seconds per group. Empty label values are left out, as a scrape drops them and the
// remote-write spec forbids them; labels are sorted by name in byte order, as the spec requires.

import { formatGoFloat } from '../core/float.js';
import { type Group, isHistogram, isSummary, type Labels } from '../core/model.js';
import { pushFailureTimeFamily, pushTimeFamily } from '../core/scrape-body.js';
import type { RemoteSample } from './encode.js';

function byteOrder(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function sortedLabels(name: string, labels: Labels, extra?: readonly [string, string]): Array<readonly [string, string]> {
  const pairs: Array<readonly [string, string]> = [['__name__', name]];
  for (const [label, value] of Object.entries(labels)) if (value !== '' && label !== '__name__') pairs.push([label, value]);
  if (extra) pairs.push(extra);
  return pairs.sort(byteOrder);
}

/** Every sample of every live group, stamped with `timestampMs` (the send time). */
export function samplesOfGroups(groups: readonly Group[], timestampMs: number): RemoteSample[] {
  const samples: RemoteSample[] = [];
  forEachSample(groups, timestampMs, (sample) => samples.push(sample));
  return samples;
}

/**
 * The same samples in batches of at most `size`, each handed to `take` as soon as it is full: a snapshot then
 * holds one batch of sample objects at a time, not the whole store's, so they die young instead of being
 * promoted and marked with the store's own objects.
 */
export function forEachBatch(groups: readonly Group[], timestampMs: number, size: number, take: (batch: RemoteSample[]) => void): void {
  let batch: RemoteSample[] = [];
  forEachSample(groups, timestampMs, (sample) => {
    batch.push(sample);
    if (batch.length >= size) {
      take(batch);
      batch = [];
    }
  });
  if (batch.length > 0) take(batch);
}

function forEachSample(groups: readonly Group[], timestampMs: number, emit: (sample: RemoteSample) => void): void {
  const add = (name: string, labels: Labels, value: number, extra?: readonly [string, string]) => {
    emit({ labels: sortedLabels(name, labels, extra), value, timestampMs });
  };
  for (const group of groups) {
    for (const family of group.families.values()) {
      for (const metric of family.metrics) {
        if (isHistogram(metric) && metric.native) {
          // As a Prometheus with native histograms enabled ingests a scrape: the native histogram alone, under the
          // family's name, even when classic buckets came with it.
          emit({
            labels: sortedLabels(family.name, metric.labels),
            value: 0,
            timestampMs,
            histogram: { count: metric.count, sum: metric.sum, native: metric.native },
          });
        } else if (isHistogram(metric)) {
          for (const bucket of metric.buckets)
            add(`${family.name}_bucket`, metric.labels, bucket.cumulativeCount, ['le', formatGoFloat(bucket.upperBound)]);
          add(`${family.name}_sum`, metric.labels, metric.sum);
          add(`${family.name}_count`, metric.labels, metric.count);
        } else if (isSummary(metric)) {
          for (const quantile of metric.quantiles)
            add(family.name, metric.labels, quantile.value, ['quantile', formatGoFloat(quantile.quantile)]);
          add(`${family.name}_sum`, metric.labels, metric.sum);
          add(`${family.name}_count`, metric.labels, metric.count);
        } else {
          add(family.name, metric.labels, metric.value);
        }
      }
    }
    add(pushTimeFamily.name, group.labels, group.lastPushMs / 1000);
    add(pushFailureTimeFamily.name, group.labels, group.lastFailureMs / 1000);
  }
}
