// The pure core of the pusher: what to send, given the registry now and what the gateway has acknowledged.
//
// The client never keeps "unsent increments" of its own. It keeps the cumulative values the gateway has
// acknowledged (the baseline); a push carries `current - baseline` for counters and histograms and records the
// `current` values it covers. Only when the gateway acknowledges the push does the baseline move to them. So a
// push that certainly was not applied is simply forgotten — its increments are still `current - baseline` and
// go out, merged, with the next push — and a push whose outcome is unknown is re-sent byte for byte.
import type { PushBody } from './body-writer.js';
import { textBodyWriter } from './push-text.js';
import type { FamilySnapshot, HistogramSeries, ScalarSeries, Snapshot } from './snapshot.js';

/** Identity of a series across families: family name + label key. */
type SeriesId = string;
type SeriesValue = ScalarSeries | HistogramSeries;

export interface CoveredSeries {
  id: SeriesId;
  value: SeriesValue;
}

export interface DeltaPush {
  /** The deltas as the writer encodes them; no series when nothing changed. */
  body: PushBody;
  /** Number of series in the body. */
  series: number;
  /** The cumulative values this push brings the gateway to; the baseline moves to them on acknowledgement. */
  covered: CoveredSeries[];
  /** More changed series did not fit under the byte bound; they stay for the next push. */
  truncated: boolean;
  /** Series whose delta alone exceeds the byte bound: they can never be sent and are given up. */
  oversized: CoveredSeries[];
}

export class Baseline {
  private readonly acknowledged = new Map<SeriesId, SeriesValue>();

  get(id: SeriesId): SeriesValue | undefined {
    return this.acknowledged.get(id);
  }

  /** Moves the baseline to what a push covered (acknowledged, or given up on purpose). */
  advance(covered: readonly CoveredSeries[]): void {
    for (const { id, value } of covered) this.acknowledged.set(id, value);
  }

  get size(): number {
    return this.acknowledged.size;
  }
}

function scalarDelta(current: ScalarSeries, acknowledged: ScalarSeries | undefined): number {
  if (!acknowledged) return current.value;
  // A counter below its acknowledged value was reset (registry.resetMetrics()); everything since counts.
  return current.value >= acknowledged.value ? current.value - acknowledged.value : current.value;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, i) => bound === b[i]);
}

function histogramDelta(current: HistogramSeries, acknowledged: HistogramSeries | undefined): HistogramSeries {
  if (!acknowledged || !sameBounds(current.bounds, acknowledged.bounds) || current.count < acknowledged.count) return current;
  return {
    labels: current.labels,
    bounds: current.bounds,
    cumulative: current.cumulative.map((count, i) => count - acknowledged.cumulative[i]!),
    sum: current.sum - acknowledged.sum,
    count: current.count - acknowledged.count,
  };
}

type ChangedSeries = { id: SeriesId; value: SeriesValue; delta: SeriesValue };

/** The delta of one series of a counter or histogram family, or undefined when it did not change. */
function changedSeries(family: FamilySnapshot, key: string, baseline: Baseline): ChangedSeries | undefined {
  const id = `${family.name}\u0002${key}`;
  // A series the gateway has never seen goes out even at zero, so it exists there (rate() gives 0, not "no data").
  const acknowledged = baseline.get(id);
  if (family.type === 'histogram') {
    const current = family.series.get(key)!;
    const delta = histogramDelta(current, acknowledged as HistogramSeries | undefined);
    if (delta.count === 0 && acknowledged) return undefined;
    return { id, value: current, delta };
  }
  const current = family.series.get(key)!;
  const delta = scalarDelta(current, acknowledged as ScalarSeries | undefined);
  if (delta === 0 && acknowledged) return undefined;
  return { id, value: current, delta: { labels: current.labels, value: delta } };
}

/**
 * The next aggregation push: the deltas of counters and histograms since the baseline, at most `maxBytes` as
 * `writer` encodes them (text 0.0.4 unless told). Series that do not fit stay for a following push
 * (`truncated`); a single series larger than the bound is reported in `oversized`.
 */
export function buildDeltaPush(snapshot: Snapshot, baseline: Baseline, maxBytes: number, writer = textBodyWriter()): DeltaPush {
  let bytes = writer.emptyBytes;
  let truncated = false;
  const covered: CoveredSeries[] = [];
  const oversized: CoveredSeries[] = [];
  for (const family of snapshot.values()) {
    if (family.type === 'gauge') continue;
    const headerBytes = writer.familyBytes(family);
    let headerSent = false;
    for (const key of family.series.keys()) {
      const changed = changedSeries(family, key, baseline);
      if (!changed) continue;
      const series = writer.measure(family, changed.delta);
      const size = headerSent ? series.bytes : headerBytes + series.bytes;
      if (bytes + size > maxBytes) {
        if (writer.emptyBytes + headerBytes + series.bytes > maxBytes) oversized.push({ id: changed.id, value: changed.value });
        else truncated = true;
        continue;
      }
      series.add();
      bytes += size;
      headerSent = true;
      covered.push({ id: changed.id, value: changed.value });
    }
  }
  return { body: writer.finish(), series: covered.length, covered, truncated, oversized };
}

export interface GaugePush {
  body: PushBody;
  series: number;
  /** Gauge series left out because the byte bound was reached. */
  omitted: number;
}

/** The current value of every gauge series, at most `maxBytes` as `writer` encodes them. Gauges are states, not deltas. */
export function buildGaugePush(snapshot: Snapshot, maxBytes: number, writer = textBodyWriter()): GaugePush {
  let bytes = writer.emptyBytes;
  let series = 0;
  let omitted = 0;
  for (const family of snapshot.values()) {
    if (family.type !== 'gauge' || family.series.size === 0) continue;
    const headerBytes = writer.familyBytes(family);
    let headerSent = false;
    for (const current of family.series.values()) {
      const measured = writer.measure(family, current);
      const size = headerSent ? measured.bytes : headerBytes + measured.bytes;
      if (bytes + size > maxBytes) {
        omitted++;
        continue;
      }
      measured.add();
      bytes += size;
      headerSent = true;
      series++;
    }
  }
  return { body: writer.finish(), series, omitted };
}
