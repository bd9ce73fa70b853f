// The one place where a push is judged. Pure functions: `preparePush` checks the push on its own and
// applies the grouping labels; `checkAgainstStore` compares it with what is stored through a read-only
// view, answering as if the push were already applied (the official gateway's checkWriteRequest
// gathers a copy of the store with the push in it). Every lookup is by key — family name, series key —
// so the cost grows with the push, never with the store, and a store whose state lives elsewhere
// (Redis, a Durable Object) can prefetch `lookupKeys(prepared)` and answer from a map.

import type { PushMode, PushRequest } from '../store/types.js';
import { groupIdentity, groupKey, labelText } from './grouping.js';
import { isHistogram, type Labels, type MetricFamily, type MetricType } from './model.js';
import { isPushableLabelName, isValidMetricName, metricNameText, type NameValidation } from './names.js';
import { nativeProblem } from './native-histogram.js';
import { runInSlices, runToEnd, SLICE, SLICE_BYTES, type Sliced } from './slices.js';

/** The official gateway's prefix for consistency errors, kept so messages read the same. */
export const invalidPushPrefix = 'pushed metrics are invalid or inconsistent with existing metrics: ';

/** Families the gateway writes itself: a pushed family of the same name would collide on /metrics. */
export const gatewayOwnFamilyNames: ReadonlySet<string> = new Set([
  'push_time_seconds',
  'push_failure_time_seconds',
  'pushgateway_http_requests_total',
  'gateway_groups',
  'gateway_idempotency_keys_evicted_total',
  'gateway_series',
  'gateway_series_limit',
  'gateway_pushes_deduplicated_total',
  'gateway_store_errors_total',
  'gateway_otlp_points_total',
  'gateway_otlp_streams_evicted_total',
]);

export interface PreparedFamily {
  /** The family with the grouping labels applied to every metric. */
  family: MetricFamily;
  /** Per metric (same order): its sorted label text, the part of its series key and sample lines. */
  labelTexts: string[];
}

export interface PreparedPush {
  groupKey: string;
  /** Grouping labels with `instance` (push_time_seconds carries these). */
  groupLabels: Labels;
  families: PreparedFamily[];
}

/** `name{labels}`; a name outside the legacy set is quoted (it may hold a brace), so the key splits back unambiguously. */
export function seriesKey(familyName: string, labelText: string): string {
  return `${metricNameText(familyName)}{${labelText}}`;
}

/** A seriesKey back into its family name and label text. */
export function splitSeriesKey(key: string): { familyName: string; labelText: string } {
  if (!key.startsWith('"')) {
    const brace = key.indexOf('{');
    return { familyName: key.slice(0, brace), labelText: key.slice(brace + 1, -1) };
  }
  let end = 1;
  while (key[end] !== '"') end += key[end] === '\\' ? 2 : 1;
  const familyName = key.slice(1, end).replace(/\\(["\\n])/g, (_, e: string) => (e === 'n' ? '\n' : e));
  return { familyName, labelText: key.slice(end + 2, -1) };
}

/** What validation needs to know about the store. Implementations answer from indexes, never by scanning. */
export interface PushValidationView {
  /** Type of the family of this name and how many groups hold it; undefined when none does. */
  family(name: string): { type: MetricType; groups: number } | undefined;
  /** Type of the family of this name in one group; undefined when that group lacks it (or does not exist). */
  groupFamilyType(groupKey: string, name: string): MetricType | undefined;
  /** Key of the group holding this series (family name + labels; see seriesKey). */
  seriesOwner(seriesKey: string): string | undefined;
}

/** What one series may carry: bounds (0 = no limit), so one series cannot hold megabytes, and its names' alphabet. */
export interface SeriesLimits {
  /** Legacy names only (default), or any UTF-8 (GATEWAY_ENABLE_UTF8_NAMES). */
  names?: NameValidation;
  /** Longest label value in UTF-8 bytes, body and grouping labels alike (GATEWAY_MAX_LABEL_VALUE_BYTES). */
  maxLabelValueBytes: number;
  /** Most labels on one series, grouping labels and `instance` included (GATEWAY_MAX_LABELS_PER_SERIES). */
  maxLabelsPerSeries: number;
}

export const unlimitedSeries: SeriesLimits = { maxLabelValueBytes: 0, maxLabelsPerSeries: 0 };

/** UTF-8 length of a string without encoding it (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * As utf8ByteLength, for the megabytes of a family's lines: pauses every SLICE_BYTES characters (core/slices), and
 * counts each slice by encoding it into a scratch buffer, which is ~30× faster than the loop over characters
 * (a 45 MB text: ~4 ms instead of ~150 ms). The encoder counts a lone surrogate as U+FFFD too.
 */
export function* utf8ByteLengthSteps(text: string): Sliced<number> {
  if (text.length <= SLICE_BYTES) return utf8ByteLength(text);
  const scratch = new Uint8Array(3 * SLICE_BYTES + 3);
  let bytes = 0;
  for (let from = 0; from < text.length; ) {
    let to = Math.min(from + SLICE_BYTES, text.length);
    // A slice never ends between the two halves of a surrogate pair, so the pair is counted as one character.
    if (to < text.length && (text.charCodeAt(to - 1) & 0xfc00) === 0xd800) to++;
    bytes += utf8Encoder.encodeInto(text.slice(from, to), scratch).written;
    from = to;
    if (from < text.length) yield;
  }
  return bytes;
}

const utf8Encoder = new TextEncoder();

/** The refusal when a series' labels pass the limits, else undefined. */
function seriesLimitProblem(name: string, labels: Labels, limits: SeriesLimits): string | undefined {
  const { maxLabelValueBytes, maxLabelsPerSeries } = limits;
  if (maxLabelsPerSeries > 0) {
    const count = Object.keys(labels).length;
    if (count > maxLabelsPerSeries)
      return `a series of metric ${JSON.stringify(name)} has ${count} labels, more than GATEWAY_MAX_LABELS_PER_SERIES=${maxLabelsPerSeries}`;
  }
  if (maxLabelValueBytes > 0) {
    for (const labelName in labels) {
      const value = labels[labelName]!;
      // A string of n UTF-16 units has at most 3n UTF-8 bytes: most values are decided without counting.
      if (value.length * 3 <= maxLabelValueBytes) continue;
      const bytes = utf8ByteLength(value);
      if (bytes > maxLabelValueBytes)
        return `label ${labelName} of metric ${JSON.stringify(name)} has a value of ${bytes} bytes, more than GATEWAY_MAX_LABEL_VALUE_BYTES=${maxLabelValueBytes}`;
    }
  }
  return undefined;
}

export type PrepareResult = { ok: true; push: PreparedPush } | { ok: false; message: string };

const histogramSuffixes = ['_bucket', '_count', '_sum'] as const;
const summarySuffixes = ['_count', '_sum'] as const;

type PushToPrepare = Pick<PushRequest, 'grouping' | 'families' | 'timestampedSample'>;

/** Checks a push on its own (names, timestamps, duplicates, per-series limits) and applies the grouping labels. */
export function preparePush(push: PushToPrepare, limits: SeriesLimits = unlimitedSeries): PrepareResult {
  return runToEnd(preparePushSteps(push, limits));
}

/** As preparePush, pausing every SLICE series (core/slices): it reads nothing but the push, so others may run meanwhile. */
export function preparePushInSlices(push: PushToPrepare, limits: SeriesLimits = unlimitedSeries): Promise<PrepareResult> {
  return runInSlices(preparePushSteps(push, limits));
}

function* preparePushSteps(push: PushToPrepare, limits: SeriesLimits): Sliced<PrepareResult> {
  const fail = (message: string): PrepareResult => ({ ok: false, message: invalidPushPrefix + message });
  if (push.timestampedSample) return fail('pushed metrics must not have timestamps');
  const grouping = push.grouping;
  const groupNames = Object.keys(grouping);
  const prepared: PreparedFamily[] = [];
  const pushedNames = new Set<string>();
  let series = 0;
  for (const family of push.families) {
    const { name } = family;
    if (!isValidMetricName(name, limits.names)) return fail(`invalid metric name ${JSON.stringify(name)}`);
    if (gatewayOwnFamilyNames.has(name)) return fail(`metric name ${JSON.stringify(name)} is reserved for the gateway's own metrics`);
    if (pushedNames.has(name)) return fail(`metric family ${JSON.stringify(name)} is pushed twice`);
    pushedNames.add(name);
    const reservedLabel = family.type === 'histogram' ? 'le' : family.type === 'summary' ? 'quantile' : undefined;
    const seen = new Set<string>();
    const metrics = [];
    const labelTexts: string[] = [];
    for (const metric of family.metrics) {
      const labels: Labels = {};
      for (const labelName in metric.labels) {
        if (!isPushableLabelName(labelName, limits.names))
          return fail(`metric ${JSON.stringify(name)} has a label with an invalid name: ${labelName}`);
        if (labelName === reservedLabel) return fail(`${family.type} ${JSON.stringify(name)} has a label named ${reservedLabel}`);
        labels[labelName] = metric.labels[labelName]!;
      }
      // Grouping labels override body labels; instance="" is added only when neither has one (official sanitizeLabels).
      for (const labelName of groupNames) labels[labelName] = grouping[labelName]!;
      if (!('instance' in labels)) labels.instance = '';
      const tooLarge = seriesLimitProblem(name, labels, limits);
      if (tooLarge) return fail(tooLarge);
      if (isHistogram(metric) && metric.native) {
        const problem = nativeProblem(metric.native, metric.count);
        if (problem) return fail(`histogram ${seriesKey(name, labelText(labels))}: ${problem}`);
      }
      const text = labelText(labels);
      if (seen.has(text)) return fail(`collected metric ${seriesKey(name, text)} was collected before with the same name and label values`);
      seen.add(text);
      metrics.push({ ...metric, labels });
      labelTexts.push(text);
      if (++series % SLICE === 0) yield;
    }
    prepared.push({ family: { name, help: family.help, type: family.type, metrics }, labelTexts });
  }
  // Families of one push must not collide with each other's suffixes either (histogram `x` and untyped `x_count`).
  for (const { family } of prepared) {
    const collision = suffixCollision(family.name, family.type, (other) => (pushedNames.has(other) ? typeOf(prepared, other) : undefined));
    if (collision) return fail(collision);
  }
  const groupLabels = groupIdentity(grouping);
  return { ok: true, push: { groupKey: groupKey(grouping), groupLabels, families: prepared } };
}

function typeOf(prepared: PreparedFamily[], name: string): MetricType | undefined {
  return prepared.find((p) => p.family.name === name)?.family.type;
}

/** A histogram `x` owns `x_bucket`, `x_count`, `x_sum`; a summary owns `x_count`, `x_sum` (client_golang checkSuffixCollisions). */
function suffixCollision(name: string, type: MetricType, typeAfterPush: (name: string) => MetricType | undefined): string | undefined {
  const own = type === 'histogram' ? histogramSuffixes : type === 'summary' ? summarySuffixes : [];
  for (const suffix of own) {
    if (typeAfterPush(name + suffix) !== undefined)
      return `collected metric named ${JSON.stringify(name + suffix)} collides with ${type} named ${JSON.stringify(name)}`;
  }
  for (const suffix of histogramSuffixes) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const baseType = typeAfterPush(base);
    if (baseType === 'histogram' || (baseType === 'summary' && suffix !== '_bucket'))
      return `collected metric named ${JSON.stringify(name)} collides with ${baseType} named ${JSON.stringify(base)}`;
  }
  return undefined;
}

/** Names and series keys a store must be able to answer for `checkAgainstStore` (for stores that prefetch). */
export function lookupKeys(push: PreparedPush): { familyNames: string[]; seriesKeys: string[] } {
  const familyNames = new Set<string>();
  const seriesKeys: string[] = [];
  for (const { family, labelTexts } of push.families) {
    familyNames.add(family.name);
    for (const suffix of histogramSuffixes) {
      familyNames.add(family.name + suffix);
      if (family.name.endsWith(suffix)) familyNames.add(family.name.slice(0, -suffix.length));
    }
    for (const text of labelTexts) seriesKeys.push(seriesKey(family.name, text));
  }
  return { familyNames: [...familyNames], seriesKeys };
}

/**
 * Checks a prepared push against the store as if it were applied with `mode`: type conflicts with other
 * groups, suffix collisions, series already held by another group. Returns the refusal message, or
 * undefined when the push may be applied.
 */
export function checkAgainstStore(push: PreparedPush, mode: PushMode, view: PushValidationView): string | undefined {
  return runToEnd(checkAgainstStoreSteps(push, mode, view));
}

/**
 * As checkAgainstStore, pausing every SLICE series (core/slices). Only for a store whose writers wait for each
 * other while it runs: what it has checked must not change before the push is committed.
 */
export function* checkAgainstStoreSteps(push: PreparedPush, mode: PushMode, view: PushValidationView): Sliced<string | undefined> {
  let series = 0;
  const pushed = new Map<string, MetricType>();
  for (const { family } of push.families) pushed.set(family.name, family.type);
  // The type a family name would have after the push, considering only what the push does not replace.
  const storedTypeAfterPush = (name: string): MetricType | undefined => {
    const holding = view.family(name);
    if (!holding) return undefined;
    const own = view.groupFamilyType(push.groupKey, name);
    const othersHold = holding.groups - (own === undefined ? 0 : 1) > 0;
    if (othersHold) return holding.type;
    // Only this group holds it: PUT drops it; POST replaces it when pushed; aggregation keeps it.
    if (own === undefined || mode === 'replace' || (mode === 'merge-families' && pushed.has(name))) return undefined;
    return own;
  };
  for (const { family, labelTexts } of push.families) {
    const stored = storedTypeAfterPush(family.name);
    if (stored !== undefined && stored !== family.type) {
      return `${invalidPushPrefix}metric family ${JSON.stringify(family.name)} is pushed as ${family.type} but is a ${stored} in the gateway`;
    }
    const collision = suffixCollision(family.name, family.type, (name) => pushed.get(name) ?? storedTypeAfterPush(name));
    if (collision) return invalidPushPrefix + collision;
    for (const text of labelTexts) {
      const key = seriesKey(family.name, text);
      const owner = view.seriesOwner(key);
      if (owner !== undefined && owner !== push.groupKey) {
        return `${invalidPushPrefix}collected metric ${key} was collected before with the same name and label values (pushed to the group {${owner}})`;
      }
      if (++series % SLICE === 0) yield;
    }
  }
  return undefined;
}
