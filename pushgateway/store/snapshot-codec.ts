// The snapshot format of the gateway's state, free of any runtime API so the Node file persistence and
// the Durable Object store share it: JSON, with non-finite numbers spelled out (JSON has no Infinity/NaN)
// and every field checked on the way in, so a damaged snapshot is refused with a reason, never half-loaded.
import type { RememberedWindow } from '../core/delta-windows.js';
import type { RememberedKey } from '../core/idempotency.js';
import {
  type Bucket,
  type BucketSpan,
  type Group,
  type HistogramMetric,
  isGroupWriteMode,
  type Metric,
  type MetricFamily,
  type MetricType,
  type NativeBuckets,
  type Quantile,
} from '../core/model.js';
import { nativeProblem } from '../core/native-histogram.js';

export interface StoreSnapshot {
  groups: Group[];
  idempotencyKeys: RememberedKey[];
  /** The last applied window of each OTLP delta stream (absent in snapshots written before OTLP). */
  deltaWindows?: RememberedWindow[];
  deduplicatedPushes: number;
}

/** What a store offers to be persisted; the memory store implements it. */
export interface SnapshotSource {
  snapshot(nowMs: number): StoreSnapshot;
  restore(snapshot: StoreSnapshot): void;
}

export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
}

const FORMAT = 'hono-edge-metrics/pushgateway-snapshot';
const VERSION = 1;
const METRIC_TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

// JSON has no Infinity/NaN; numbers are written as numbers when finite and as these strings otherwise.
type StoredNumber = number | '+Inf' | '-Inf' | 'NaN';

function encodeNumber(value: number): StoredNumber {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

function decodeNumber(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (value === '+Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  if (value === 'NaN') return Number.NaN;
  throw new CorruptSnapshotError(`${where}: expected a number, got ${JSON.stringify(value)}`);
}

/** Native buckets as JSON: every number is finite (validation made sure), spans as [offset, length] pairs. */
function encodeNative(native: NativeBuckets): unknown {
  return {
    schema: native.schema,
    zeroThreshold: native.zeroThreshold,
    zeroCount: native.zeroCount,
    positiveSpans: native.positiveSpans.map((span) => [span.offset, span.length]),
    positiveCounts: native.positiveCounts,
    negativeSpans: native.negativeSpans.map((span) => [span.offset, span.length]),
    negativeCounts: native.negativeCounts,
    float: native.float === true,
  };
}

function encodeMetric(metric: Metric): unknown {
  if ('buckets' in metric) {
    return {
      labels: metric.labels,
      buckets: metric.buckets.map((b) => [encodeNumber(b.upperBound), encodeNumber(b.cumulativeCount)]),
      sum: encodeNumber(metric.sum),
      count: encodeNumber(metric.count),
      ...(metric.native ? { native: encodeNative(metric.native) } : {}),
    };
  }
  if ('quantiles' in metric) {
    return {
      labels: metric.labels,
      quantiles: metric.quantiles.map((q) => [encodeNumber(q.quantile), encodeNumber(q.value)]),
      sum: encodeNumber(metric.sum),
      count: encodeNumber(metric.count),
    };
  }
  return { labels: metric.labels, value: encodeNumber(metric.value) };
}

export function encodeSnapshot(snapshot: StoreSnapshot, savedAtMs: number): string {
  return JSON.stringify({
    format: FORMAT,
    version: VERSION,
    savedAtMs,
    deduplicatedPushes: snapshot.deduplicatedPushes,
    idempotencyKeys: snapshot.idempotencyKeys.map(({ key, appliedMs }) => [key, appliedMs]),
    // Nanosecond times pass 2^53: written as decimal strings.
    deltaWindows: (snapshot.deltaWindows ?? []).map(({ stream, appliedMs, startNs, endNs }) => [
      stream,
      appliedMs,
      String(startNs),
      String(endNs),
    ]),
    groups: snapshot.groups.map((group) => ({
      labels: group.labels,
      lastPushMs: group.lastPushMs,
      lastFailureMs: group.lastFailureMs,
      ...(group.writeMode === undefined ? {} : { writeMode: group.writeMode }),
      deduplicatedRetries: group.deduplicatedRetries,
      families: [...group.families.values()].map((family) => ({
        name: family.name,
        help: family.help ?? null,
        type: family.type,
        metrics: family.metrics.map(encodeMetric),
      })),
    })),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeLabels(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string'))
    throw new CorruptSnapshotError(`${where}: labels must map names to strings`);
  return value as Record<string, string>;
}

function decodePairs(value: unknown, where: string): Array<[number, number]> {
  if (!Array.isArray(value)) throw new CorruptSnapshotError(`${where}: expected a list`);
  return value.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new CorruptSnapshotError(`${where}[${i}]: expected a pair`);
    return [decodeNumber(pair[0], where), decodeNumber(pair[1], where)];
  });
}

function decodeNative(value: unknown, count: number, where: string): NativeBuckets {
  if (!isRecord(value)) throw new CorruptSnapshotError(`${where}: native buckets must be an object`);
  const numbers = (field: unknown, what: string): number[] => {
    if (!Array.isArray(field) || !field.every((n) => typeof n === 'number'))
      throw new CorruptSnapshotError(`${where}: native ${what} must be a list of numbers`);
    return field as number[];
  };
  const spans = (field: unknown, what: string): BucketSpan[] =>
    decodePairs(field, `${where} native ${what}`).map(([offset, length]) => ({ offset, length }));
  const scalar = (field: unknown, what: string): number => {
    if (typeof field !== 'number') throw new CorruptSnapshotError(`${where}: native ${what} must be a number`);
    return field;
  };
  const native: NativeBuckets = {
    schema: scalar(value.schema, 'schema'),
    zeroThreshold: scalar(value.zeroThreshold, 'zeroThreshold'),
    zeroCount: scalar(value.zeroCount, 'zeroCount'),
    positiveSpans: spans(value.positiveSpans, 'positiveSpans'),
    positiveCounts: numbers(value.positiveCounts, 'positiveCounts'),
    negativeSpans: spans(value.negativeSpans, 'negativeSpans'),
    negativeCounts: numbers(value.negativeCounts, 'negativeCounts'),
  };
  if (value.float === true) native.float = true;
  const problem = nativeProblem(native, count);
  if (problem) throw new CorruptSnapshotError(`${where}: ${problem}`);
  return native;
}

function decodeMetric(value: unknown, type: MetricType, where: string): Metric {
  if (!isRecord(value)) throw new CorruptSnapshotError(`${where}: expected an object`);
  const labels = decodeLabels(value.labels, where);
  if (type === 'histogram') {
    const buckets: Bucket[] = decodePairs(value.buckets, where).map(([upperBound, cumulativeCount]) => ({ upperBound, cumulativeCount }));
    const metric: HistogramMetric = { labels, buckets, sum: decodeNumber(value.sum, where), count: decodeNumber(value.count, where) };
    if (value.native !== undefined) metric.native = decodeNative(value.native, metric.count, where);
    return metric;
  }
  if (type === 'summary') {
    const quantiles: Quantile[] = decodePairs(value.quantiles, where).map(([quantile, v]) => ({ quantile, value: v }));
    return { labels, quantiles, sum: decodeNumber(value.sum, where), count: decodeNumber(value.count, where) };
  }
  return { labels, value: decodeNumber(value.value, where) };
}

/** Parses and checks a snapshot file's text; throws CorruptSnapshotError naming what is wrong. */
export function decodeSnapshot(text: string, groupKeyOf: (labels: Record<string, string>) => string): StoreSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CorruptSnapshotError(`not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(parsed) || parsed.format !== FORMAT) throw new CorruptSnapshotError(`not a ${FORMAT} file`);
  if (parsed.version !== VERSION) throw new CorruptSnapshotError(`unsupported snapshot version ${JSON.stringify(parsed.version)}`);
  if (!Array.isArray(parsed.groups) || !Array.isArray(parsed.idempotencyKeys) || typeof parsed.deduplicatedPushes !== 'number') {
    throw new CorruptSnapshotError('groups, idempotencyKeys and deduplicatedPushes are required');
  }
  const groups: Group[] = parsed.groups.map((raw: unknown, g: number) => {
    const where = `groups[${g}]`;
    if (!isRecord(raw) || !Array.isArray(raw.families) || typeof raw.lastPushMs !== 'number' || typeof raw.lastFailureMs !== 'number') {
      throw new CorruptSnapshotError(`${where}: malformed group`);
    }
    const labels = decodeLabels(raw.labels, where);
    const families = new Map<string, MetricFamily>();
    raw.families.forEach((rawFamily: unknown, f: number) => {
      const at = `${where}.families[${f}]`;
      if (
        !isRecord(rawFamily) ||
        typeof rawFamily.name !== 'string' ||
        !METRIC_TYPES.has(rawFamily.type as MetricType) ||
        !Array.isArray(rawFamily.metrics)
      ) {
        throw new CorruptSnapshotError(`${at}: malformed family`);
      }
      const type = rawFamily.type as MetricType;
      const help = typeof rawFamily.help === 'string' ? rawFamily.help : undefined;
      families.set(rawFamily.name, {
        name: rawFamily.name,
        help,
        type,
        metrics: rawFamily.metrics.map((m: unknown, i: number) => decodeMetric(m, type, `${at}.metrics[${i}]`)),
      });
    });
    // Snapshots written before groups recorded their write mode and retries load without them.
    if (raw.writeMode !== undefined && !isGroupWriteMode(raw.writeMode))
      throw new CorruptSnapshotError(`${where}: unknown writeMode ${JSON.stringify(raw.writeMode)}`);
    const retries = raw.deduplicatedRetries ?? 0;
    if (typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0)
      throw new CorruptSnapshotError(`${where}: deduplicatedRetries must be a count`);
    const group: Group = {
      key: groupKeyOf(labels),
      labels,
      families,
      lastPushMs: raw.lastPushMs,
      lastFailureMs: raw.lastFailureMs,
      deduplicatedRetries: retries,
    };
    if (isGroupWriteMode(raw.writeMode)) group.writeMode = raw.writeMode;
    return group;
  });
  const idempotencyKeys = parsed.idempotencyKeys.map((pair: unknown, i: number) => {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'number')
      throw new CorruptSnapshotError(`idempotencyKeys[${i}]: malformed`);
    return { key: pair[0], appliedMs: pair[1] };
  });
  const deltaWindows = (Array.isArray(parsed.deltaWindows) ? parsed.deltaWindows : []).map((entry: unknown, i: number) => {
    if (
      !Array.isArray(entry) ||
      typeof entry[0] !== 'string' ||
      typeof entry[1] !== 'number' ||
      typeof entry[2] !== 'string' ||
      typeof entry[3] !== 'string' ||
      !/^\d+$/.test(entry[2]) ||
      !/^\d+$/.test(entry[3])
    )
      throw new CorruptSnapshotError(`deltaWindows[${i}]: malformed`);
    return { stream: entry[0], appliedMs: entry[1], startNs: BigInt(entry[2]), endNs: BigInt(entry[3]) };
  });
  return { groups, idempotencyKeys, deltaWindows, deduplicatedPushes: parsed.deduplicatedPushes };
}
