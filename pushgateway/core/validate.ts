// The one place where a push is judged. Pure functions: `preparePush` checks the push on its own and
// applies the grouping labels; `checkAgainstStore` compares it with what is stored through a read-only
// view, answering as if the push were already applied (the official gateway's checkWriteRequest
// gathers a copy of the store with the push in it). Every lookup is by key — family name, series key —
// so the cost grows with the push, never with the store, and a store whose state lives elsewhere
// (Redis, a Durable Object) can prefetch `lookupKeys(prepared)` and answer from a map.
import { groupIdentity, groupKey, isPushableLabelName, isValidMetricName, labelText } from './grouping.js';
import type { Labels, MetricFamily, MetricType } from './model.js';
import type { PushMode, PushRequest } from '../store/types.js';

/** The official gateway's prefix for consistency errors, kept so messages read the same. */
export const invalidPushPrefix = 'pushed metrics are invalid or inconsistent with existing metrics: ';

/** Families the gateway writes itself: a pushed family of the same name would collide on /metrics. */
export const gatewayOwnFamilyNames: ReadonlySet<string> = new Set([
  'push_time_seconds',
  'push_failure_time_seconds',
  'pushgateway_http_requests_total',
  'gateway_groups',
  'gateway_series',
  'gateway_series_limit',
  'gateway_pushes_deduplicated_total',
  'gateway_store_errors_total',
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

export function seriesKey(familyName: string, labelText: string): string {
  return `${familyName}{${labelText}}`;
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

export type PrepareResult = { ok: true; push: PreparedPush } | { ok: false; message: string };

const histogramSuffixes = ['_bucket', '_count', '_sum'] as const;
const summarySuffixes = ['_count', '_sum'] as const;

/** Checks a push on its own (names, timestamps, duplicates) and applies the grouping labels. */
export function preparePush(push: Pick<PushRequest, 'grouping' | 'families' | 'timestampedSample'>): PrepareResult {
  const fail = (message: string): PrepareResult => ({ ok: false, message: invalidPushPrefix + message });
  if (push.timestampedSample) return fail('pushed metrics must not have timestamps');
  const grouping = push.grouping;
  const groupNames = Object.keys(grouping);
  const prepared: PreparedFamily[] = [];
  const pushedNames = new Set<string>();
  for (const family of push.families) {
    const { name } = family;
    if (!isValidMetricName(name)) return fail(`invalid metric name ${JSON.stringify(name)}`);
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
        if (!isPushableLabelName(labelName)) return fail(`metric ${JSON.stringify(name)} has a label with an invalid name: ${labelName}`);
        if (labelName === reservedLabel) return fail(`${family.type} ${JSON.stringify(name)} has a label named ${reservedLabel}`);
        labels[labelName] = metric.labels[labelName]!;
      }
      // Grouping labels override body labels; instance="" is added only when neither has one (official sanitizeLabels).
      for (const labelName of groupNames) labels[labelName] = grouping[labelName]!;
      if (!('instance' in labels)) labels.instance = '';
      const text = labelText(labels);
      if (seen.has(text)) return fail(`collected metric ${seriesKey(name, text)} was collected before with the same name and label values`);
      seen.add(text);
      metrics.push({ ...metric, labels });
      labelTexts.push(text);
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
    }
  }
  return undefined;
}
