// Claims of family types across shards, with shards modelled as their stored families plus the pushes they are
// applying (the Durable Objects in test/workerd/gateway-shards.test.ts do the same in real workerd), and their
// deadline against shards that do not answer (real timers; a silent shard is a promise nothing settles).
import { describe, expect, it } from 'vitest';
import type { MetricType } from '../core/model.js';
import { DeadlineExceededError } from './durable-object-deadline.js';
import { FamiliesInFlight, FamilyClaims, type PushedFamily } from './family-registry.js';

/** Far beyond any healthy claim here: the tests that are not about the deadline never meet it. */
const GENEROUS_MS = 30_000;

class ModelShard {
  readonly stored = new Map<string, MetricType>();
  readonly inFlight = new FamiliesInFlight();
  asked = 0;
  /** While set, the shard is silent: its answers wait for this promise. */
  silentUntil: Promise<void> | undefined;

  familyTypes = async (names: string[]) => {
    this.asked++;
    await this.silentUntil;
    const held: Record<string, MetricType[]> = {};
    for (const name of names) {
      const types = new Set(this.inFlight.types(name));
      const stored = this.stored.get(name);
      if (stored) types.add(stored);
      if (types.size > 0) held[name] = [...types];
    }
    return held;
  };
}

function cluster(size: number) {
  const shards = Array.from({ length: size }, () => new ModelShard());
  const claims = new FamilyClaims(shards.map((shard) => shard.familyTypes));
  /** A push as a Durable Object applies it: in flight, claimed, then stored unless refused; `beforeApply` holds it. */
  const push = async (shard: number, families: PushedFamily[], beforeApply: Promise<void> = Promise.resolve()) => {
    shards[shard]!.inFlight.add(families);
    try {
      const conflicts = await claims.claim(families, shard, GENEROUS_MS);
      await beforeApply;
      if (Object.keys(conflicts).length > 0) return conflicts;
      for (const { name, type } of families) shards[shard]!.stored.set(name, type);
      return conflicts;
    } finally {
      shards[shard]!.inFlight.remove(families);
    }
  };
  return { shards, claims, push };
}

describe('FamilyClaims', () => {
  it('refuses a family another shard holds with another type, with the message a single store gives', async () => {
    const { shards, push } = cluster(3);
    expect(await push(1, [{ name: 'jobs_total', type: 'counter' }])).toEqual({});
    expect(
      await push(2, [
        { name: 'jobs_total', type: 'gauge' },
        { name: 'other', type: 'gauge' },
      ]),
    ).toEqual({
      jobs_total:
        'pushed metrics are invalid or inconsistent with existing metrics: metric family "jobs_total" is pushed as gauge but is a counter in the gateway',
    });
    expect(shards[2]!.stored.size).toBe(0);
    // The same type elsewhere is fine; and once no shard holds it, another type is too.
    expect(await push(0, [{ name: 'jobs_total', type: 'counter' }])).toEqual({});
    shards[0]!.stored.clear();
    shards[1]!.stored.clear();
    expect(await push(2, [{ name: 'jobs_total', type: 'gauge' }])).toEqual({});
  });

  it('does not ask the claimant, whose own validation covers its groups', async () => {
    const { shards, claims } = cluster(3);
    shards[1]!.stored.set('x', 'counter');
    expect(await claims.claim([{ name: 'x', type: 'gauge' }], 1, GENEROUS_MS)).toEqual({});
    expect(shards.map((shard) => shard.asked)).toEqual([1, 0, 1]);
  });

  it('lets only one of two conflicting pushes through when the first is still being applied as the second claims', async () => {
    const { shards, push } = cluster(2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Shard 0's claim passes; before it has stored anything, shard 1 claims the other type: it sees shard 0's push
    // in flight and is refused.
    const first = push(0, [{ name: 'm', type: 'counter' }], held);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const second = await push(1, [{ name: 'm', type: 'gauge' }]);
    release();
    expect(await first).toEqual({});
    expect(Object.keys(second)).toEqual(['m']);
    expect([shards[0]!.stored.get('m'), shards[1]!.stored.get('m')]).toEqual(['counter', undefined]);
  });

  it('handles one claim at a time, so concurrent conflicting claims never both pass', async () => {
    for (let round = 0; round < 20; round++) {
      const { shards, push } = cluster(4);
      const types: MetricType[] = ['counter', 'gauge', 'histogram', 'summary'];
      const outcomes = await Promise.all(
        types.map((type, shard) => push(shard, [{ name: 'm', type }], new Promise((r) => setTimeout(r, (round * 7 + shard * 3) % 5)))),
      );
      const stored = new Set(shards.map((shard) => shard.stored.get('m')).filter((type) => type !== undefined));
      expect(stored.size).toBeLessThanOrEqual(1);
      expect(outcomes.filter((conflicts) => Object.keys(conflicts).length === 0).length).toBe(stored.size === 1 ? 1 : 0);
    }
  });
});

describe('FamilyClaims deadline', () => {
  const never = new Promise<void>(() => {});

  it('rejects a claim a shard does not answer, naming the shard, and the next claim gets its turn', async () => {
    const { shards, claims } = cluster(3);
    let speak!: () => void;
    shards[2]!.silentUntil = new Promise<void>((resolve) => (speak = resolve));
    const stuck = claims.claim([{ name: 'x', type: 'gauge' }], 0, 50);
    // Queued behind the stuck claim, with a deadline long enough to outlast it.
    const next = claims.claim([{ name: 'y', type: 'gauge' }], 1, GENEROUS_MS);
    await expect(stuck).rejects.toThrow(new DeadlineExceededError('shard 2 did not answer the family type check within 50 ms'));
    speak();
    expect(await next).toEqual({});
  });

  it('rejects a claim whose turn does not come in time, and never asks for it once its deadline has passed', async () => {
    const { shards, claims } = cluster(2);
    shards[1]!.silentUntil = never;
    const stuck = claims.claim([{ name: 'x', type: 'gauge' }], 0, 200);
    const waiting = claims.claim([{ name: 'y', type: 'gauge' }], 0, 20);
    await expect(waiting).rejects.toThrow('the family type check across shards waited over 20 ms for its turn at shard 0');
    await expect(stuck).rejects.toThrow(DeadlineExceededError);
    shards[1]!.silentUntil = undefined;
    expect(await claims.claim([{ name: 'z', type: 'gauge' }], 0, GENEROUS_MS)).toEqual({});
    // The stuck claim and the last one asked shard 1; the one that expired in line never did.
    expect(shards[1]!.asked).toBe(2);
  });
});
