// The pushed part of a scrape as families rather than text, for the protobuf format: every pushed family once
// with its metrics from all groups (groups in key order), plus push_time_seconds and push_failure_time_seconds
// per group — the same content core/scrape-body renderGroups writes as text.
import type { Group, MetricFamily } from './model.js';
import { chooseHelp, compareGroupKeys, familiesByName, pushFailureTimeFamily, pushTimeFamily } from './scrape-body.js';

export function groupFamilies(groups: readonly Group[]): MetricFamily[] {
  const { sorted, byName } = familiesByName(groups);
  const families: MetricFamily[] = [];
  for (const [name, list] of byName)
    families.push({ name, help: chooseHelp(list.map((f) => f.help)), type: list[0]!.type, metrics: list.flatMap((f) => f.metrics) });
  if (sorted.length > 0) {
    families.push({ ...pushTimeFamily, metrics: sorted.map((group) => ({ labels: group.labels, value: group.lastPushMs / 1000 })) });
    families.push({
      ...pushFailureTimeFamily,
      metrics: sorted.map((group) => ({ labels: group.labels, value: group.lastFailureMs / 1000 })),
    });
  }
  return families.sort((a, b) => compareGroupKeys(a.name, b.name));
}
