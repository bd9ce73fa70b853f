// Cross-shard validation of family types for GATEWAY_DO_SHARDS > 1. Each Durable Object validates a push against
// its own groups; what no object sees alone is a family held with another type on another shard, which the
// official gateway refuses (a type conflict with any group) and which would make the merged /metrics invalid.
//
// The rule: a push that brings a family its shard does not already hold with the same type *claims* it at shard 0,
// which handles one claim at a time and asks every other shard which types it holds the family with — in its live
// groups and in the pushes it is applying at that moment. Any other type → the push is refused (400, the message a
// single store gives). A shard marks the families of a push as in flight from before its claim until the push is
// applied or refused, so two conflicting pushes on two shards cannot both pass: the claim handled second sees the
// first one's families, stored or in flight. Nothing is cached, so there is nothing to go stale: a claim is needed
// only when a family is new to a shard (steady pushes of the same families claim nothing), and costs one round
// trip to shard 0 plus one to every other shard.
//
// A claim has a deadline covering its wait for its turn and every shard's answer: one silent shard then costs the
// pushes that claim meanwhile a 503 each (nothing stored), instead of holding them, and every claim queued behind
// them, for as long as it stays silent.
import type { MetricType } from '../core/model.js';
import { invalidPushPrefix } from '../core/validate.js';
import { withDeadline } from './durable-object-deadline.js';

export interface PushedFamily {
  name: string;
  type: MetricType;
}

/** The types one shard holds the named families with (live groups and pushes in flight); absent names: not held. */
export type FamilyTypesOfShard = (names: string[]) => Promise<Record<string, MetricType[]>>;

export class FamilyClaims {
  #turn: Promise<unknown> = Promise.resolve();

  /** `shards[i]` asks shard i; the claimant is not asked (its own validation covers its groups). */
  constructor(private readonly shards: readonly FamilyTypesOfShard[]) {}

  /**
   * The families another shard holds with another type, each with its refusal message; empty when none. Rejects
   * with a DeadlineExceededError naming the silent shards when the answer is not complete within `withinMs`; the
   * next claim's turn comes then at the latest.
   */
  claim(families: readonly PushedFamily[], claimant: number, withinMs: number): Promise<Record<string, string>> {
    const progress = { expired: false, started: false, answered: new Set<number>([claimant]) };
    const run = withDeadline(
      this.#turn.then(() => (progress.expired ? {} : this.#check(families, claimant, progress))),
      withinMs,
      () => {
        progress.expired = true;
        if (!progress.started) return `the family type check across shards waited over ${withinMs} ms for its turn at shard 0`;
        const silent = this.shards.map((_, shard) => shard).filter((shard) => !progress.answered.has(shard));
        return `shard ${silent.join(', ')} did not answer the family type check within ${withinMs} ms`;
      },
    );
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #check(
    families: readonly PushedFamily[],
    claimant: number,
    progress: { started: boolean; answered: Set<number> },
  ): Promise<Record<string, string>> {
    progress.started = true;
    const conflicts: Record<string, string> = {};
    if (families.length === 0) return conflicts;
    const names = [...new Set(families.map((family) => family.name))];
    const nothing: Record<string, MetricType[]> = {};
    const held = await Promise.all(
      this.shards.map(async (ask, shard) => {
        if (shard === claimant) return nothing;
        const types = await ask(names);
        progress.answered.add(shard);
        return types;
      }),
    );
    for (const family of families) {
      for (const types of held) {
        const other = types[family.name]?.find((type) => type !== family.type);
        if (other !== undefined && !(family.name in conflicts))
          conflicts[family.name] =
            `${invalidPushPrefix}metric family ${JSON.stringify(family.name)} is pushed as ${family.type} but is a ${other} in the gateway`;
      }
    }
    return conflicts;
  }
}

/** Families of pushes a shard is applying, by name: what it reports to claims besides its stored groups. */
export class FamiliesInFlight {
  readonly #types = new Map<string, MetricType[]>();

  add(families: readonly PushedFamily[]): void {
    for (const { name, type } of families) {
      const list = this.#types.get(name);
      if (list) list.push(type);
      else this.#types.set(name, [type]);
    }
  }

  remove(families: readonly PushedFamily[]): void {
    for (const { name, type } of families) {
      const list = this.#types.get(name);
      if (!list) continue;
      const at = list.indexOf(type);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.#types.delete(name);
    }
  }

  types(name: string): readonly MetricType[] {
    return this.#types.get(name) ?? [];
  }
}
