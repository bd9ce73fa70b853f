// Which Durable Object holds a group when the gateway's state is split over GATEWAY_DO_SHARDS objects, and how
// the objects' groups and own metrics are put back together. Pure, so it is tested without workerd.
import { labelText } from '../core/grouping.js';
import type { Group, MetricFamily, MetricType } from '../core/model.js';
import { compareGroupKeys } from '../core/scrape-body.js';

/** FNV-1a over the UTF-16 code units: stable across isolates and deploys, cheap, and spreads group keys evenly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function shardOf(groupKey: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a(groupKey) % shards;
}

/** The object's name: shard 0 keeps the unsharded name, so GATEWAY_DO_SHARDS=1 is the single object it always was. */
export function shardName(shard: number): string {
  return shard === 0 ? 'gateway' : `gateway-shard-${shard}`;
}

/** `name{labels} value` with `shard="i"` added first (a sample line of text 0.0.4 or OpenMetrics). */
function withShardLabel(line: string, shard: number): string {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace >= 0 && (space < 0 || brace < space)) {
    const rest = line.slice(brace + 1);
    return `${line.slice(0, brace)}{shard="${shard}"${rest.startsWith('}') ? '' : ','}${rest}`;
  }
  return `${line.slice(0, space)}{shard="${shard}"}${line.slice(space)}`;
}

/**
 * One exposition of several shards' self-metrics (the same families in each): every family once, its HELP and
 * TYPE from the first shard that has it, then every shard's samples labelled with `shard`.
 */
export function mergeShardMetrics(texts: string[]): string {
  const families = new Map<string, { header: string[]; samples: string[] }>();
  texts.forEach((text, shard) => {
    let current: { header: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const header = /^# (HELP|TYPE|UNIT) (\S+)/.exec(line);
      if (header) {
        const name = header[2]!;
        let family = families.get(name);
        if (!family) {
          family = { header: [], samples: [] };
          families.set(name, family);
        }
        current = family;
        if (!family.header.some((seen) => seen.startsWith(`# ${header[1]} ${name} `) || seen === line)) family.header.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      current?.samples.push(withShardLabel(line, shard));
    }
  });
  let out = '';
  for (const { header, samples } of families.values()) out += `${[...header, ...samples].join('\n')}\n`;
  return out;
}

/**
 * The groups of every shard as one valid exposition can carry them. A group held by two shards (GATEWAY_DO_SHARDS
 * changed since it was pushed) is served from the one pushed last. A series held by groups on two shards is
 * possible (a series' owner is checked within its shard only): it is served once, from the group first in key
 * order. A family held with two types cannot arise since types are claimed across shards (family-registry.ts),
 * but a store may hold one from before they were (or from another N): the type of the group first in key order is
 * served, the others' series of that family left out.
 */
export function mergeShardGroups(groups: readonly Group[]): Group[] {
  // One group on two shards exists only after GATEWAY_DO_SHARDS changed: the copy pushed last is the live one.
  const latest = new Map<string, Group>();
  for (const group of groups) {
    const seen = latest.get(group.key);
    if (!seen || group.lastPushMs > seen.lastPushMs) latest.set(group.key, group);
  }
  const sorted = [...latest.values()].sort((a, b) => compareGroupKeys(a.key, b.key));
  const types = new Map<string, MetricType>();
  const served = new Set<string>();
  return sorted.map((group) => {
    let families: Map<string, MetricFamily> | undefined;
    for (const [name, family] of group.families) {
      const type = types.get(name);
      if (type === undefined) types.set(name, family.type);
      const kept =
        type !== undefined && type !== family.type
          ? []
          : family.metrics.filter((metric) => {
              const series = `${name}\u0000${labelText(metric.labels)}`;
              if (served.has(series)) return false;
              served.add(series);
              return true;
            });
      if (kept.length === family.metrics.length) continue;
      families ??= new Map(group.families);
      if (kept.length === 0) families.delete(name);
      else families.set(name, { ...family, metrics: kept });
    }
    return families ? { ...group, families } : group;
  });
}
