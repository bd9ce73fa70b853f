// The gateway's /metrics body for a set of groups: every pushed family once, its metrics from all groups
// (groups in key order), families sorted by name, with push_time_seconds and push_failure_time_seconds
// per group as the official gateway writes them. Stores without a render cache (Redis, Durable Object)
// call renderGroups directly; the memory store caches the same blocks and must produce the same text.

import { type ExpositionFormat, type RenderableFamily, renderExposition, renderMetricLines } from './exposition-format.js';
import { formatGoFloat } from './float.js';
import { labelText } from './grouping.js';
import type { Group, MetricFamily } from './model.js';
import { runToEnd, SLICE, type Sliced } from './slices.js';

export const pushTimeFamily = {
  name: 'push_time_seconds',
  help: 'Last Unix time when changing this group in the Pushgateway succeeded.',
  type: 'gauge',
} as const;
export const pushFailureTimeFamily = {
  name: 'push_failure_time_seconds',
  help: 'Last Unix time when changing this group in the Pushgateway failed.',
  type: 'gauge',
} as const;

/** The push_time_seconds (or push_failure_time_seconds) line of one group. */
export function pushTimeLine(
  family: typeof pushTimeFamily | typeof pushFailureTimeFamily,
  group: Pick<Group, 'labels' | 'lastPushMs' | 'lastFailureMs'>,
): string {
  const ms = family === pushTimeFamily ? group.lastPushMs : group.lastFailureMs;
  return `${family.name}{${labelText(group.labels)}} ${formatGoFloat(ms / 1000)}\n`;
}

/**
 * Sample lines of one stored family (labels already include the grouping labels), as one flat string.
 * `labelTexts` are the metrics' label texts when already known (validation computes them).
 */
export function familyLines(family: MetricFamily, labelTexts?: readonly string[]): string {
  return runToEnd(familyLineSlicesSteps(family, labelTexts)).join('');
}

/**
 * As familyLines, pausing every SLICE series (core/slices), and not joined: element k holds the lines of metrics
 * k·SLICE to (k+1)·SLICE − 1, each slice one flat string. Joining them all would copy the whole family into one
 * new string in a single step (~300 ms for a 45 MB family on a busy core), which a large push must not do.
 */
export function* familyLineSlicesSteps(family: MetricFamily, labelTexts?: readonly string[]): Sliced<string[]> {
  const { metrics } = family;
  const slices: string[] = [];
  for (let from = 0; from < metrics.length; from += SLICE) {
    const to = Math.min(from + SLICE, metrics.length);
    const lines = new Array<string>(to - from);
    for (let i = from; i < to; i++) {
      const metric = metrics[i]!;
      lines[i - from] = renderMetricLines(family.name, metric, labelTexts?.[i] ?? labelText(metric.labels));
    }
    slices.push(lines.join(''));
    if (to < metrics.length) yield;
  }
  return slices;
}

export function compareGroupKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The HELP a family shows when groups disagree: the first one given, in group key order. */
export function chooseHelp(helps: Iterable<string | undefined>): string | undefined {
  for (const help of helps) if (help !== undefined) return help;
  return undefined;
}

/** Groups in key order, and every pushed family name with its families from all groups (in that order). */
export function familiesByName(groups: readonly Group[]): { sorted: Group[]; byName: Map<string, MetricFamily[]> } {
  const sorted = [...groups].sort((a, b) => compareGroupKeys(a.key, b.key));
  const byName = new Map<string, MetricFamily[]>();
  for (const group of sorted) {
    for (const family of group.families.values()) {
      const list = byName.get(family.name);
      if (list) list.push(family);
      else byName.set(family.name, [family]);
    }
  }
  return { sorted, byName };
}

/** Renders all groups (no caching); the caller appends its own metrics and endOfExposition. */
export function renderGroups(groups: readonly Group[], format: ExpositionFormat): string {
  const { sorted, byName } = familiesByName(groups);
  const families: RenderableFamily[] = [];
  for (const [name, list] of byName) {
    families.push({
      name,
      help: chooseHelp(list.map((f) => f.help)),
      type: list[0]!.type,
      lines: list.map((family) => familyLines(family)).join(''),
    });
  }
  if (sorted.length > 0) {
    for (const timeFamily of [pushTimeFamily, pushFailureTimeFamily]) {
      families.push({ ...timeFamily, lines: sorted.map((group) => pushTimeLine(timeFamily, group)).join('') });
    }
  }
  families.sort((a, b) => compareGroupKeys(a.name, b.name));
  return renderExposition(families, format);
}
