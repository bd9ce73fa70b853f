// The GatewayStore the Worker's app uses: a thin RPC client of the gateway's Durable Objects
// (store/durable-object.ts). Kept apart from the object's class, which imports `cloudflare:workers`, so that
// choosing a store (store/create.ts) loads on Node too.
//
// With GATEWAY_DO_SHARDS = N > 1 each group lives in the object its grouping key hashes to
// (durable-object-shards.ts): pushes to different shards run in parallel, and reads merge every shard. Each
// object validates against its own groups, and family types across shards (family-registry.ts) — see
// pushgateway/README.md for what is checked where.

import type { ExpositionFormat } from '../core/exposition-format.js';
import { groupKey } from '../core/grouping.js';
import type { Group, Labels } from '../core/model.js';
import { renderGroups } from '../core/scrape-body.js';
import type { GatewayStoreObject } from './durable-object.js';
import { mergeShardGroups, mergeShardMetrics, shardName, shardOf } from './durable-object-shards.js';
import type { GatewayStore, OtlpOutcome, OtlpPush, PushOutcome, PushRequest, StoreStats } from './types.js';

export class DurableObjectStore implements GatewayStore {
  constructor(
    private readonly namespace: DurableObjectNamespace<GatewayStoreObject>,
    private readonly shards = 1,
  ) {}

  // A stub is an I/O object bound to the request that made it: one per call, as the app outlives requests.
  private stub(shard: number): DurableObjectStub<GatewayStoreObject> {
    return this.namespace.get(this.namespace.idFromName(shardName(shard)));
  }

  private shardFor(grouping: Labels): number {
    return shardOf(groupKey(grouping), this.shards);
  }

  private async everyShard<T>(call: (stub: DurableObjectStub<GatewayStoreObject>) => Promise<T>): Promise<T[]> {
    return await Promise.all(Array.from({ length: this.shards }, (_, shard) => call(this.stub(shard))));
  }

  async apply(push: PushRequest): Promise<PushOutcome> {
    const shard = this.shardFor(push.grouping);
    return (await this.stub(shard).apply(push, shard)) as PushOutcome;
  }

  /** Each group's points go to its shard; the shards' outcomes are added up. */
  async applyOtlp(push: OtlpPush): Promise<OtlpOutcome> {
    const byShard = new Map<number, OtlpPush['groups']>();
    for (const group of push.groups) {
      const shard = this.shardFor(group.grouping);
      const list = byShard.get(shard);
      if (list) list.push(group);
      else byShard.set(shard, [group]);
    }
    const outcomes = await Promise.all(
      [...byShard].map(async ([shard, groups]) => (await this.stub(shard).applyOtlp({ groups, nowMs: push.nowMs }, shard)) as OtlpOutcome),
    );
    const total: OtlpOutcome = { applied: 0, replayed: 0, overlapping: 0, invalid: 0, overCapacity: 0, messages: [] };
    for (const outcome of outcomes) {
      total.applied += outcome.applied;
      total.replayed += outcome.replayed;
      total.overlapping += outcome.overlapping;
      total.invalid += outcome.invalid;
      total.overCapacity += outcome.overCapacity;
      for (const message of outcome.messages)
        if (total.messages.length < 5 && !total.messages.includes(message)) total.messages.push(message);
    }
    return total;
  }

  async deleteGroup(grouping: Labels, nowMs: number): Promise<boolean> {
    return await this.stub(this.shardFor(grouping)).deleteGroup(grouping, nowMs);
  }

  async wipe(): Promise<void> {
    await this.everyShard((stub) => stub.wipe());
  }

  async groups(nowMs: number): Promise<Group[]> {
    const perShard = (await this.everyShard((stub) => stub.groups(nowMs))) as unknown as Group[][];
    return this.shards === 1 ? perShard[0]! : mergeShardGroups(perShard.flat());
  }

  async exposition(nowMs: number, format: ExpositionFormat): Promise<string> {
    // One object renders from its cache; several are merged family by family, as one store would render them.
    if (this.shards === 1) return await this.stub(0).exposition(nowMs, format);
    return renderGroups(await this.groups(nowMs), format);
  }

  async stats(nowMs: number): Promise<StoreStats> {
    const all = await this.everyShard((stub) => stub.stats(nowMs));
    const total: StoreStats = { groups: 0, series: 0, deduplicatedPushes: 0 };
    for (const stats of all) {
      for (const key of Object.keys(stats) as Array<keyof StoreStats>) total[key] = (total[key] ?? 0) + (stats[key] ?? 0);
    }
    return total;
  }

  /** The objects' own metrics (remote write, claims); with several shards each sample carries a `shard` label. */
  async objectMetrics(format: ExpositionFormat): Promise<string> {
    const texts = await this.everyShard((stub) => stub.objectMetrics(format));
    return this.shards === 1 ? texts[0]! : mergeShardMetrics(texts);
  }

  async close(): Promise<void> {}
}
