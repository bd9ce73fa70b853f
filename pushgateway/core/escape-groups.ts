// Stored groups as a scraper that did not negotiate `escaping=allow-utf-8` must see them: every metric and
// label name outside the legacy set rewritten by the negotiated scheme (underscores by default), as expfmt
// escapes each family before encoding it. Values are never touched.
//
// Escaping can make two names one (`a.b` and `a_b` under `underscores`); the scrape then shows their series under
// the one name. Only pushes with UTF-8 names on can store such names, and the README says so.
import type { Group, Labels, Metric, MetricFamily } from './model.js';
import { escapeName, isLegacyMetricName, type NameEscaping } from './names.js';

function labelsNeedEscaping(labels: Labels): boolean {
  for (const name in labels) if (!isLegacyMetricName(name)) return true;
  return false;
}

function escapeLabels(labels: Labels, escaping: NameEscaping): Labels {
  const out: Labels = {};
  for (const name in labels) out[escapeName(name, escaping)] = labels[name]!;
  return out;
}

function escapeFamily(family: MetricFamily, escaping: NameEscaping): MetricFamily {
  const metrics = family.metrics.map(
    (metric): Metric => (labelsNeedEscaping(metric.labels) ? { ...metric, labels: escapeLabels(metric.labels, escaping) } : metric),
  );
  return { ...family, name: escapeName(family.name, escaping), metrics };
}

/** True when some name in these groups would be written differently under a scheme other than allow-utf-8. */
export function groupsNeedEscaping(groups: readonly Group[]): boolean {
  for (const group of groups) {
    if (labelsNeedEscaping(group.labels)) return true;
    for (const family of group.families.values()) {
      if (!isLegacyMetricName(family.name)) return true;
      for (const metric of family.metrics) if (labelsNeedEscaping(metric.labels)) return true;
    }
  }
  return false;
}

/** Copies of the groups with every name escaped; groups whose names are all legacy are returned as they are. */
export function escapeGroups(groups: readonly Group[], escaping: NameEscaping): Group[] {
  if (escaping === 'allow-utf-8') return [...groups];
  return groups.map((group) => {
    if (!groupsNeedEscaping([group])) return group;
    // Keyed by the stored name: two names that escape alike stay two families, and the scrape writes both
    // under the one escaped name (core/scrape-body groups families by name).
    const families = new Map<string, MetricFamily>();
    for (const [name, family] of group.families) families.set(name, escapeFamily(family, escaping));
    return { ...group, labels: escapeLabels(group.labels, escaping), families };
  });
}
