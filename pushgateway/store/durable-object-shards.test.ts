import { describe, expect, it } from 'vitest';
import { groupKey } from '../core/grouping.js';
import type { Group, MetricFamily } from '../core/model.js';
import { renderGroups } from '../core/scrape-body.js';
import { parseTextExposition } from '../core/text-parser.js';
import { mergeShardGroups, mergeShardMetrics, shardName, shardOf } from './durable-object-shards.js';

describe('shardOf', () => {
  it('is stable, within range, and spreads group keys over every shard', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const shard = shardOf(`instance="worker-${i}",job="api"`, 4);
      expect(shard).toBe(shardOf(`instance="worker-${i}",job="api"`, 4));
      counts[shard]!++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
    expect(shardOf('anything', 1)).toBe(0);
    expect(shardName(0)).toBe('gateway');
    expect(shardName(3)).toBe('gateway-shard-3');
  });
});

describe('mergeShardMetrics', () => {
  it('gives every family once, with each shard sample labelled', () => {
    const shard = (n: number) =>
      `# HELP sent_total Sent.\n# TYPE sent_total counter\nsent_total{url="x"} ${n}\n# HELP held Held.\n# TYPE held gauge\nheld ${n % 2}\n`;
    const merged = mergeShardMetrics([shard(1), shard(2)]);
    expect(merged).toBe(
      '# HELP sent_total Sent.\n# TYPE sent_total counter\nsent_total{shard="0",url="x"} 1\nsent_total{shard="1",url="x"} 2\n' +
        '# HELP held Held.\n# TYPE held gauge\nheld{shard="0"} 1\nheld{shard="1"} 0\n',
    );
    expect(parseTextExposition(merged).families.map((f) => [f.name, f.metrics.length])).toEqual([
      ['sent_total', 2],
      ['held', 2],
    ]);
  });
});

describe('mergeShardGroups', () => {
  const group = (labels: Record<string, string>, families: MetricFamily[]): Group => ({
    key: groupKey(labels),
    labels,
    families: new Map(families.map((family) => [family.name, family])),
    lastPushMs: 1,
    lastFailureMs: 0,
    deduplicatedRetries: 0,
  });
  const gauge = (name: string, series: Record<string, string>[], type: MetricFamily['type'] = 'gauge'): MetricFamily => ({
    name,
    help: undefined,
    type,
    metrics: series.map((labels) => ({ labels, value: 1 })),
  });

  it('serves a series held by groups on two shards once, from the group first in key order, into a valid exposition', () => {
    const byJob = group({ job: 'dup', instance: '' }, [
      gauge('m', [
        { job: 'dup', instance: 'x' },
        { job: 'dup', instance: 'y' },
      ]),
    ]);
    const byInstance = group({ job: 'dup', instance: 'x' }, [gauge('m', [{ job: 'dup', instance: 'x' }])]);
    const merged = mergeShardGroups([byInstance, byJob]);
    expect(merged.map((g) => [g.key, g.families.get('m')?.metrics.map((metric) => metric.labels.instance)])).toEqual([
      [byJob.key, ['x', 'y']],
      [byInstance.key, undefined],
    ]);
    const text = renderGroups(merged, 'text');
    expect(text.match(/^m\{instance="x",job="dup"\} 1$/gm)).toHaveLength(1);
    expect(parseTextExposition(text).families.find((family) => family.name === 'm')?.metrics).toHaveLength(2);
  });

  it('serves a family held with two types with the first group’s type only, and leaves groups without conflicts as they are', () => {
    const first = group({ job: 'a', instance: '' }, [gauge('x', [{ job: 'a', instance: '' }], 'counter')]);
    const second = group({ job: 'b', instance: '' }, [gauge('x', [{ job: 'b', instance: '' }]), gauge('y', [{ job: 'b', instance: '' }])]);
    const merged = mergeShardGroups([second, first]);
    expect(merged[0]).toBe(first);
    expect([...merged[1]!.families.keys()]).toEqual(['y']);
    expect(renderGroups(merged, 'text')).not.toContain('x{instance="",job="b"}');
  });

  it('serves a group held by two shards (after GATEWAY_DO_SHARDS changed) once, from the copy pushed last', () => {
    const old = { ...group({ job: 'moved', instance: '' }, [gauge('m', [{ job: 'moved', instance: '' }])]), lastPushMs: 1 };
    const fresh = { ...group({ job: 'moved', instance: '' }, [gauge('m', [{ job: 'moved', instance: '' }])]), lastPushMs: 2 };
    expect(mergeShardGroups([old, fresh])).toEqual([fresh]);
    expect(renderGroups(mergeShardGroups([fresh, old]), 'text').match(/^push_time_seconds/gm)).toHaveLength(1);
  });
});
