// What a push body is written in, kept apart from what goes into it (delta.ts decides that): the text exposition
// format of the Pushgateway protocol (push-text.ts) or OTLP protobuf (otlp-body.ts). A writer measures each
// series before it is added, so the packer can keep a body under its byte bound in either encoding.
import type { HistogramSeries, ScalarSeries } from './snapshot.js';

export type PushBody = string | Uint8Array<ArrayBuffer>;

export interface FamilyHeader {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
}

/** A scalar for counters (their delta) and gauges (their value), the bucket deltas for histograms. */
export type SeriesValue = ScalarSeries | HistogramSeries;

export interface BodyWriter {
  /** Bytes of the body's envelope, around its families: never less than written. */
  readonly emptyBytes: number;
  /** Bytes a family adds when its first series is added, never less than written. */
  familyBytes(family: FamilyHeader): number;
  /** Bytes the series adds, never less than written; `add()` writes it. */
  measure(family: FamilyHeader, series: SeriesValue): { bytes: number; add(): void };
  finish(): PushBody;
}

/**
 * The interval [startNs, endNs) a delta push covers, in Unix nanoseconds: OTLP carries it on every point (the
 * gateway judges retries by it), the text format has no place for it.
 */
export interface DeltaInterval {
  startNs: bigint;
  endNs: bigint;
}
