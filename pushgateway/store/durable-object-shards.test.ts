import { describe, expect, it } from 'vitest';
import { parseTextExposition } from '../core/text-parser.js';
import { mergeShardMetrics, shardName, shardOf } from './durable-object-shards.js';

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
