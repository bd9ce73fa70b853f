// The gateway's state on Cloudflare Workers: one Durable Object holds a MemoryStore (the same validation,
// aggregation, idempotency and TTL code as on Node) and persists it in its own SQLite-backed storage, one
// entry per group plus one per remembered Idempotency-Key, so a push writes only what it changed
// (O(size of its group)), never the whole store. A Durable Object runs one event at a time and its storage
// writes are confirmed before its response leaves (output gates), so a push that was answered 200 is
// durable, and an Idempotency-Key is stored in the same write batch as the data it protects.
//
// One object per shard (GATEWAY_DO_SHARDS, default 1; durable-object-store.ts routes by grouping key). With
// one shard validation spans every group; with several, each object validates its own groups, and a family new
// to a shard is claimed at shard 0 so that no two shards hold it with different types (family-registry.ts). A
// series held by groups on two shards is not refused; the merged scrape serves one copy (durable-object-shards.ts),
// and remote write sends the same one: shard 0 alone sends, the merged groups of every shard.
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../config/env.js';
import { loadGatewayConfig } from '../config/gateway.js';
import type { ExpositionFormat } from '../core/exposition-format.js';
import { renderHeader } from '../core/exposition-format.js';
import { formatGoFloat } from '../core/float.js';
import { groupKey } from '../core/grouping.js';
import { IDEMPOTENCY_WINDOW_MS, type RememberedKey, scopedIdempotencyKey } from '../core/idempotency.js';
import type { Group, Labels, MetricType } from '../core/model.js';
import { createRemoteWriter, MemoryLease, type RemoteWriter } from '../remote-write/index.js';
import { memoryStoreOptions } from './create.js';
import { withDeadline } from './durable-object-deadline.js';
import { mergeShardGroups, shardName } from './durable-object-shards.js';
import { FamiliesInFlight, FamilyClaims, type PushedFamily } from './family-registry.js';
import { MemoryStore } from './memory.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';
import type { OtlpOutcome, OtlpPush, PushOutcome, PushRequest, StoreStats } from './types.js';

const GROUP_PREFIX = 'group:';
const KEY_PREFIX = 'key:';
/** The last applied window of an OTLP delta stream: [appliedMs, startNs, endNs] (nanoseconds as decimal strings). */
const WINDOW_PREFIX = 'window:';
const DEDUPLICATED = 'meta:deduplicated';
/** Storage left behind by TTL expiry and old keys is swept this often (an alarm), not on the push path. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/** When the next sweep is due; the one alarm also serves remote write, which fires more often. */
const NEXT_SWEEP = 'meta:next-sweep';
/**
 * How long a claim of family types may take at shard 0 (its turn and every shard's answer), and a claimant waits
 * a little longer for shard 0 itself. Healthy claims take a few round trips between objects (milliseconds); past
 * this a shard is taken to be down and the push is answered 503 with nothing changed.
 */
const FAMILY_CHECK_DEADLINE_MS = 2_000;
const FAMILY_CHECK_CLAIMANT_MARGIN_MS = 500;

const remoteWriteLog = {
  warn: (fields: Record<string, unknown>, message: string) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (fields: Record<string, unknown>, message: string) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
};

export class GatewayStoreObject extends DurableObject<Env> {
  private readonly store: MemoryStore;
  /**
   * Shard 0 only, when GATEWAY_REMOTE_WRITE_URL is set: it sends the merged groups of every shard, what the merged
   * scrape serves, so a series on two shards reaches receivers once. No lease: one object is the only sender.
   */
  private readonly writer: RemoteWriter | undefined;
  private readonly remoteWriteIntervalMs: number;
  private readonly shards: number;
  private readonly inFlight = new FamiliesInFlight();
  /** Shard 0 only: where claims are handled, one at a time. */
  private claims: FamilyClaims | undefined;
  /** Pushes of this shard answered 503 because the family type check across shards did not complete. */
  private familyCheckFailures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // The object shares the Worker's variables and reads them with the same reader. It cannot throw here:
    // the Worker reaches this object only after the same variables were read without a problem.
    const config = loadGatewayConfig(env);
    // With several shards the gateway-wide bounds are split evenly: each object enforces its share.
    const shards = config.durableObjectShards;
    this.shards = shards;
    const share = (limit: number) => (limit === 0 ? 0 : Math.max(1, Math.floor(limit / shards)));
    this.store = new MemoryStore(
      memoryStoreOptions({ ...config, maxSeries: share(config.maxSeries), maxStoredBytes: share(config.maxStoredBytes) }),
    );
    // Shard 0 is always woken before any shard holds data (a family new to a shard is claimed there), and its
    // alarm, once set, renews itself: the sender runs whenever there is something to send.
    const isShardZero = shards <= 1 || ctx.id.equals(this.namespace().idFromName(shardName(0)));
    const store = { groups: (nowMs: number) => (shards <= 1 ? this.store.groups(nowMs) : this.groupsOfEveryShard(nowMs)) };
    this.writer =
      config.remoteWrite && isShardZero
        ? createRemoteWriter({ config: config.remoteWrite, store, lease: new MemoryLease(), logger: remoteWriteLog })
        : undefined;
    this.remoteWriteIntervalMs = (config.remoteWrite?.intervalSeconds ?? 0) * 1000;
    void ctx.blockConcurrencyWhile(() => this.load());
  }

  private async load(): Promise<void> {
    const groups: Group[] = [];
    for (const text of (await this.ctx.storage.list<string>({ prefix: GROUP_PREFIX })).values())
      groups.push(...decodeSnapshot(text, groupKey).groups);
    const idempotencyKeys: RememberedKey[] = [...(await this.ctx.storage.list<number>({ prefix: KEY_PREFIX })).entries()].map(
      ([key, appliedMs]) => ({ key: key.slice(KEY_PREFIX.length), appliedMs }),
    );
    const deduplicatedPushes = (await this.ctx.storage.get<number>(DEDUPLICATED)) ?? 0;
    const deltaWindows = [...(await this.ctx.storage.list<[number, string, string]>({ prefix: WINDOW_PREFIX })).entries()].map(
      ([key, [appliedMs, startNs, endNs]]) => ({
        stream: key.slice(WINDOW_PREFIX.length),
        appliedMs,
        startNs: BigInt(startNs),
        endNs: BigInt(endNs),
      }),
    );
    this.store.restore({ groups, idempotencyKeys, deltaWindows, deduplicatedPushes });
    const alarm = await this.ctx.storage.getAlarm();
    const due = await this.nextAlarmMs(Date.now());
    if (alarm === null || alarm > due) await this.ctx.storage.setAlarm(due);
  }

  /** The earlier of the next sweep and the next remote-write tick (at a multiple of its interval). */
  private async nextAlarmMs(nowMs: number): Promise<number> {
    let sweep = await this.ctx.storage.get<number>(NEXT_SWEEP);
    if (sweep === undefined) {
      sweep = nowMs + SWEEP_INTERVAL_MS;
      await this.ctx.storage.put(NEXT_SWEEP, sweep);
    }
    if (!this.writer) return sweep;
    return Math.min(sweep, nowMs + this.remoteWriteIntervalMs - (nowMs % this.remoteWriteIntervalMs));
  }

  /** Writes one group as it is now (or removes it when it no longer exists). Not awaited: output gates. */
  private persistGroup(key: string, nowMs: number): void {
    const group = this.store.group(key, nowMs);
    if (group)
      void this.ctx.storage.put(GROUP_PREFIX + key, encodeSnapshot({ groups: [group], idempotencyKeys: [], deduplicatedPushes: 0 }, nowMs));
    else void this.ctx.storage.delete(GROUP_PREFIX + key);
  }

  private namespace(): DurableObjectNamespace<GatewayStoreObject> {
    return (this.env as { GATEWAY_STATE: DurableObjectNamespace<GatewayStoreObject> }).GATEWAY_STATE;
  }

  private shardStub(shard: number): DurableObjectStub<GatewayStoreObject> {
    return this.namespace().get(this.namespace().idFromName(shardName(shard)));
  }

  /**
   * Shard 0, for remote write: every shard's groups merged as the scrape merges them (durable-object-shards.ts),
   * read within one interval so that a silent shard costs one interval's send (counted as a snapshot error).
   */
  private async groupsOfEveryShard(nowMs: number): Promise<Group[]> {
    const perShard = await withDeadline(
      Promise.all(
        Array.from({ length: this.shards }, async (_, shard) =>
          shard === 0 ? await this.store.groups(nowMs) : ((await this.shardStub(shard).groups(nowMs)) as unknown as Group[]),
        ),
      ),
      this.remoteWriteIntervalMs,
      () => `not every shard answered with its groups within ${this.remoteWriteIntervalMs} ms`,
    );
    return mergeShardGroups(perShard.flat());
  }

  /** Shard 0: the families of `families` another shard holds with another type, with their refusal messages. */
  async claimFamilies(families: PushedFamily[], claimant: number): Promise<Record<string, string>> {
    this.claims ??= new FamilyClaims(
      Array.from({ length: this.shards }, (_, shard) =>
        shard === 0
          ? async (names: string[]) => await this.familyTypes(names)
          : async (names: string[]) => await this.shardStub(shard).familyTypes(names),
      ),
    );
    return await this.claims.claim(families, claimant, FAMILY_CHECK_DEADLINE_MS);
  }

  /** The claim of a push's fresh families; a claim that cannot complete is counted and fails the push (503). */
  private async claimOrFail(families: PushedFamily[], shard: number): Promise<Record<string, string>> {
    try {
      return shard === 0
        ? await this.claimFamilies(families, 0)
        : await withDeadline(
            this.shardStub(0).claimFamilies(families, shard),
            FAMILY_CHECK_DEADLINE_MS + FAMILY_CHECK_CLAIMANT_MARGIN_MS,
            () => `shard 0 did not answer the family type check within ${FAMILY_CHECK_DEADLINE_MS + FAMILY_CHECK_CLAIMANT_MARGIN_MS} ms`,
          );
    } catch (error) {
      this.familyCheckFailures++;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`the family type check across shards did not complete (${reason}); nothing was changed`);
    }
  }

  /** The types this shard holds the named families with: its live groups and the pushes it is applying. */
  async familyTypes(names: string[]): Promise<Record<string, MetricType[]>> {
    const now = Date.now();
    const held: Record<string, MetricType[]> = {};
    for (const name of names) {
      const types = new Set(this.inFlight.types(name));
      const stored = this.store.familyType(name, now);
      if (stored !== undefined) types.add(stored);
      if (types.size > 0) held[name] = [...types];
    }
    return held;
  }

  /**
   * Runs `apply` with `families` marked in flight, after claiming at shard 0 those this shard does not hold with
   * the same type; `apply` gets the families another shard holds with another type (refusal messages by name).
   */
  private async withClaim<T>(
    families: PushedFamily[],
    shard: number,
    nowMs: number,
    apply: (conflicts: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    if (this.shards <= 1) return await apply({});
    // In flight before anything is awaited: a claim of another shard handled meanwhile sees them.
    this.inFlight.add(families);
    try {
      const fresh = families.filter(({ name, type }) => this.store.familyType(name, nowMs) !== type);
      if (fresh.length === 0) return await apply({});
      return await apply(await this.claimOrFail(fresh, shard));
    } finally {
      this.inFlight.remove(families);
    }
  }

  async apply(push: PushRequest, shard = 0): Promise<PushOutcome> {
    const families = push.families.map(({ name, type }) => ({ name, type }));
    return await this.withClaim(families, shard, push.nowMs, async (conflicts) => {
      const refusal = Object.values(conflicts)[0];
      if (refusal === undefined) return await this.applyToStore(push);
      const outcome = this.store.recordRefusal(push.grouping, push.nowMs, refusal);
      this.persistGroup(groupKey(push.grouping), push.nowMs);
      return outcome;
    });
  }

  private async applyToStore(push: PushRequest): Promise<PushOutcome> {
    const outcome = await this.store.apply(push);
    const key = groupKey(push.grouping);
    // A replay changes the group too: its count of deduplicated retries.
    if (outcome.status === 'applied' || outcome.status === 'invalid' || outcome.status === 'replayed') this.persistGroup(key, push.nowMs);
    if (outcome.status === 'applied' && push.mode === 'aggregate' && push.idempotencyKey !== undefined) {
      void this.ctx.storage.put(KEY_PREFIX + (await scopedIdempotencyKey(key, push.idempotencyKey)), push.nowMs);
    }
    if (outcome.status === 'replayed') void this.ctx.storage.put(DEDUPLICATED, (await this.store.stats(push.nowMs)).deduplicatedPushes);
    return outcome;
  }

  /**
   * OTLP points: the memory store judges and applies them; the groups they changed and the windows of the delta
   * points it applied are written in the same output-gated batch, so an answered export is durable with its windows.
   */
  async applyOtlp(push: OtlpPush, shard = 0): Promise<OtlpOutcome> {
    const families = push.groups.flatMap((group) => group.points.map(({ name, type }) => ({ name, type })));
    return await this.withClaim(families, shard, push.nowMs, async (conflicts) => {
      const refusals: { group: OtlpPush['groups'][number]; message: string }[] = [];
      const accepted: OtlpPush['groups'] = [];
      for (const group of push.groups) {
        const message = group.points.map((point) => conflicts[point.name]).find((found) => found !== undefined);
        if (message === undefined) accepted.push(group);
        else refusals.push({ group, message });
      }
      return await this.applyOtlpToStore({ groups: accepted, nowMs: push.nowMs }, refusals);
    });
  }

  /** The points of the groups no other shard conflicts with; the others refused as a store refuses a group. */
  private async applyOtlpToStore(push: OtlpPush, refusals: { group: OtlpPush['groups'][number]; message: string }[]): Promise<OtlpOutcome> {
    const { outcome, recorded } = await this.store.applyOtlpRecording(push);
    for (const { group, message } of refusals) {
      this.store.recordRefusal(group.grouping, push.nowMs, message);
      outcome.invalid += group.points.length;
      if (outcome.messages.length < 5 && !outcome.messages.includes(message)) outcome.messages.push(message);
    }
    for (const group of [...push.groups, ...refusals.map(({ group }) => group)]) this.persistGroup(groupKey(group.grouping), push.nowMs);
    for (const { stream, startNs, endNs } of recorded)
      void this.ctx.storage.put(WINDOW_PREFIX + stream, [push.nowMs, String(startNs), String(endNs)]);
    return outcome;
  }

  async deleteGroup(grouping: Labels, nowMs: number): Promise<boolean> {
    const existed = await this.store.deleteGroup(grouping, nowMs);
    if (existed) void this.ctx.storage.delete(GROUP_PREFIX + groupKey(grouping));
    return existed;
  }

  async wipe(): Promise<void> {
    await this.store.wipe();
    const keys = [...(await this.ctx.storage.list({ prefix: GROUP_PREFIX })).keys()];
    for (let i = 0; i < keys.length; i += 128) await this.ctx.storage.delete(keys.slice(i, i + 128));
  }

  async groups(nowMs: number): Promise<Group[]> {
    return await this.store.groups(nowMs);
  }

  async exposition(nowMs: number, format: ExpositionFormat): Promise<string> {
    return await this.store.exposition(nowMs, format);
  }

  async stats(nowMs: number): Promise<StoreStats> {
    return await this.store.stats(nowMs);
  }

  /** Remote write when configured; the sweep when it is due; then the alarm for whichever comes next. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    // Delivered (or given up on) within one interval, so a slow receiver cannot pile up alarms.
    if (this.writer) await this.writer.sendOnce(now + this.remoteWriteIntervalMs);
    if (now >= ((await this.ctx.storage.get<number>(NEXT_SWEEP)) ?? 0)) {
      await this.sweep(now);
      await this.ctx.storage.put(NEXT_SWEEP, now + SWEEP_INTERVAL_MS);
    }
    await this.ctx.storage.setAlarm(await this.nextAlarmMs(Date.now()));
  }

  /** This object's own metrics for the Worker's /metrics: remote write's (the sender only) and, with shards, claims'. */
  async objectMetrics(format: ExpositionFormat): Promise<string> {
    const remoteWrite = this.writer?.metricsText(format) ?? '';
    if (this.shards <= 1) return remoteWrite;
    return (
      remoteWrite +
      renderHeader(
        {
          name: 'gateway_family_check_failures_total',
          help: 'Pushes answered 503, nothing changed, because the family type check across shards did not complete in time.',
          type: 'counter',
        },
        format,
      ) +
      `gateway_family_check_failures_total ${formatGoFloat(this.familyCheckFailures)}\n`
    );
  }

  /** Removes the storage of groups the TTL expired and of keys past their window. */
  private async sweep(now: number): Promise<void> {
    const liveKeys = this.store.liveKeys(now);
    const live = new Set(liveKeys.groups.map((key) => GROUP_PREFIX + key));
    const stale = [...(await this.ctx.storage.list({ prefix: GROUP_PREFIX })).keys()].filter((key) => !live.has(key));
    for (const [key, appliedMs] of await this.ctx.storage.list<number>({ prefix: KEY_PREFIX }))
      if (now - appliedMs >= IDEMPOTENCY_WINDOW_MS) stale.push(key);
    const liveWindows = new Set(liveKeys.deltaWindows.map((stream) => WINDOW_PREFIX + stream));
    for (const key of (await this.ctx.storage.list({ prefix: WINDOW_PREFIX })).keys()) if (!liveWindows.has(key)) stale.push(key);
    for (let i = 0; i < stale.length; i += 128) await this.ctx.storage.delete(stale.slice(i, i + 128));
  }
}
