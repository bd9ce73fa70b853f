// The in-memory store: groups plus the indexes that keep a push O(size of the push) whatever the store
// holds — family name → type and holding groups, series key → group — and a render cache: each family's
// block of /metrics text is rendered once after it changes, and the whole body is reused until anything
// changes. Validation is the shared pure code in core/validate.ts; this store is its PushValidationView.
// Families are kept compactly (store/stored-family.ts); Group objects are built when asked for.
//
// Writers (pushes, deletes) take turns (`exclusive`), so a large push can check and commit in slices that let
// reads run in between: what it checked cannot change before it commits, and readers see its group swapped in
// one synchronous step, before or after the push, never half way.

import { aggregateFamilies, type CombineOverride, type KeyedFamily } from '../core/aggregate.js';
import { DEFAULT_MAX_OTLP_STREAM_BYTES, type DeltaWindow, DeltaWindows, judgeWindow, streamsFor } from '../core/delta-windows.js';
import { ExpiryQueue } from '../core/expiry.js';
import { type ExpositionFormat, renderHeader } from '../core/exposition-format.js';
import { groupIdentity, groupKey } from '../core/grouping.js';
import { checkIdempotencyKey, IdempotencyKeys, scopedIdempotencyKey } from '../core/idempotency.js';
import type { Group, GroupWriteMode, Labels, MetricFamily, MetricType } from '../core/model.js';
import { familiesFromPoints } from '../core/point-families.js';
import { chooseHelp, compareGroupKeys, pushFailureTimeFamily, pushTimeFamily, pushTimeLine } from '../core/scrape-body.js';
import { runInSlices, runToEnd, SLICE, type Sliced } from '../core/slices.js';
import {
  checkAgainstStoreSteps,
  type PreparedPush,
  type PrepareResult,
  type PushValidationView,
  preparePush,
  preparePushInSlices,
  type SeriesLimits,
  splitSeriesKey,
  unlimitedSeries,
  utf8ByteLength,
} from '../core/validate.js';
import type { SnapshotSource, StoreSnapshot } from './snapshot-codec.js';
import { familyOf, type StoredFamily, storedFamilySteps } from './stored-family.js';
import type { GatewayStore, OtlpOutcome, OtlpPoint, OtlpPush, PushOutcome, PushRequest, StoreStats } from './types.js';

export interface MemoryStoreOptions {
  /** A push that would make the store hold more series than this is refused (0 = no limit). */
  maxSeries?: number;
  /** GATEWAY_GROUP_TTL_SECONDS in ms: a group not pushed for this long disappears (0 = never). */
  groupTtlMs?: number;
  /** Bound on remembered Idempotency-Keys (core/idempotency). */
  maxIdempotencyKeys?: number;
  /** Label value length and label count per series (core/validate). */
  seriesLimits?: SeriesLimits;
  /** A push that would make the stored text (see storedBytes) pass this many bytes is refused (0 = no limit). */
  maxStoredBytes?: number;
  /** Bound on remembered OTLP delta streams (core/delta-windows). */
  maxOtlpStreams?: number;
}

/** A group as the store keeps it: Group without the families as MetricFamily objects (see groupOf). */
interface GroupState {
  key: string;
  labels: Labels;
  stored: Map<string, StoredFamily>;
  lastPushMs: number;
  lastFailureMs: number;
  writeMode?: GroupWriteMode;
  deduplicatedRetries: number;
}

interface FamilyEntry {
  type: MetricType;
  /** Keys of the groups holding a family of this name. */
  holders: Set<string>;
}

export class MemoryStore implements GatewayStore, PushValidationView, SnapshotSource {
  private readonly states = new Map<string, GroupState>();
  private readonly familyIndex = new Map<string, FamilyEntry>();
  // Series index by family, then label text: the label texts are the ones the families keep anyway, so the
  // index adds no key strings of its own (about 100 bytes per series less than one flat seriesKey map).
  // Read only by writers, inside `exclusive`: a sliced commit may update it before its swap.
  private readonly seriesOwners = new SeriesIndex();
  /** Series in the stored families (what GATEWAY_MAX_SERIES bounds), changed at each swap. */
  private series = 0;
  /** The tail of the writers' queue (see exclusive). */
  private writers: Promise<unknown> = Promise.resolve();
  /** The group a writer is checking and committing in slices: not expired under it. */
  private writing: string | undefined;
  private readonly maxSeries: number;
  private readonly seriesLimits: SeriesLimits;
  private readonly maxStoredBytes: number;
  // Running total, so bounding it costs O(size of the push): the UTF-8 bytes of every stored sample line plus
  // each group's key (which its push-time lines repeat). The rendered body, the label texts and the families
  // scale with it, so this one figure bounds the heap, the scrape body and the snapshot alike.
  private storedBytes = 0;
  private deduplicatedPushes = 0;
  // TTL: group keys in the order of their last push (attempt), so expiring never scans every group.
  private readonly activity: ExpiryQueue<string>;
  private readonly idempotency: IdempotencyKeys;
  private readonly windows: DeltaWindows;

  // Render cache; every mutation goes through indexFamily/unindexFamily/touchGroup, which invalidate it.
  private readonly blocks: Record<ExpositionFormat, Map<string, string>> = { text: new Map(), openmetrics: new Map() };
  private sortedNames: string[] | undefined;
  private timeBlocks = new Map<string, string>();
  private bodies: Partial<Record<ExpositionFormat, string>> = {};

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSeries = options.maxSeries ?? 0;
    this.seriesLimits = options.seriesLimits ?? unlimitedSeries;
    this.maxStoredBytes = options.maxStoredBytes ?? 0;
    this.activity = new ExpiryQueue(options.groupTtlMs ?? 0);
    this.idempotency = new IdempotencyKeys(options.maxIdempotencyKeys);
    this.windows = new DeltaWindows(options.maxOtlpStreams ?? streamsFor(DEFAULT_MAX_OTLP_STREAM_BYTES), options.groupTtlMs ?? 0);
  }

  // PushValidationView
  family(name: string): { type: MetricType; groups: number } | undefined {
    const entry = this.familyIndex.get(name);
    return entry && { type: entry.type, groups: entry.holders.size };
  }

  /** The type a family has in the live groups, if any holds it (sharded Durable Objects ask each other this). */
  familyType(name: string, nowMs: number): MetricType | undefined {
    this.expire(nowMs);
    return this.familyIndex.get(name)?.type;
  }

  /** A push refused by a check outside this store (another shard's families): recorded as any refusal. */
  recordRefusal(grouping: Labels, nowMs: number, message: string): PushOutcome {
    this.expire(nowMs);
    return this.refuse(grouping, nowMs, message);
  }

  groupFamilyType(key: string, name: string): MetricType | undefined {
    return this.states.get(key)?.stored.get(name)?.type;
  }

  seriesOwner(key: string): string | undefined {
    const { familyName, labelText } = splitSeriesKey(key);
    return this.seriesOwners.get(familyName, labelText);
  }

  // Everything runs in slices, so a large push leaves the event loop to health checks, scrapes and other
  // requests meanwhile (core/slices): what reads only the push (validation on its own, rendering its lines)
  // before taking a writer's turn; the checks against the store and the commit during it.
  async apply(push: PushRequest): Promise<PushOutcome> {
    if (push.mode === 'aggregate') return await this.applyAggregate(push);
    const prepared = await preparePushInSlices(push, this.seriesLimits);
    const rendered = prepared.ok ? await runInSlices(storedFamiliesSteps(prepared.push.families)) : [];
    return await this.exclusive(prepared.ok ? prepared.push.groupKey : undefined, async () => {
      this.expire(push.nowMs);
      if (!prepared.ok) return this.refuse(push.grouping, push.nowMs, prepared.message);
      const refusal = await runInSlices(checkAgainstStoreSteps(prepared.push, push.mode, this));
      if (refusal !== undefined) return this.refuse(push.grouping, push.nowMs, refusal);
      const state = this.states.get(prepared.push.groupKey);
      const replaced =
        push.mode === 'replace'
          ? [...(state?.stored.keys() ?? [])]
          : prepared.push.families.map((p) => p.family.name).filter((name) => state?.stored.has(name));
      const overLimit = this.overLimit(state, prepared.push.groupKey, replaced, rendered);
      if (overLimit) return overLimit;
      await runInSlices(this.commitSteps(prepared.push, replaced, rendered, push.nowMs, 'replaced'));
      return { status: 'applied' };
    });
  }

  /**
   * Runs `write` when the writers before it are done. `groupKey` is the group it may check and commit in slices:
   * TTL expiry, which readers also run, leaves that group alone meanwhile.
   */
  private exclusive<T>(groupKey: string | undefined, write: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.writing = groupKey;
      try {
        return await write();
      } finally {
        this.writing = undefined;
      }
    };
    const result = this.writers.then(run, run);
    this.writers = result.catch(() => undefined);
    return result;
  }

  /** The 429 when storing `rendered` in place of the `replaced` families would pass a store-wide bound. */
  private overLimit(
    state: GroupState | undefined,
    key: string,
    replaced: readonly string[],
    rendered: readonly StoredFamily[],
  ): PushOutcome | undefined {
    if (this.maxSeries === 0 && this.maxStoredBytes === 0) return undefined;
    let series = this.series;
    let bytes = this.storedBytes + (state ? 0 : groupBytes(key));
    for (const name of replaced) {
      const old = state!.stored.get(name)!;
      series -= old.labelTexts.length;
      bytes -= old.bytes;
    }
    for (const stored of rendered) {
      series += stored.labelTexts.length;
      bytes += stored.bytes;
    }
    if (this.maxSeries > 0 && series > this.maxSeries) {
      return {
        status: 'too-many-series',
        message: `the push would make the gateway hold ${series} series, more than GATEWAY_MAX_SERIES=${this.maxSeries}`,
      };
    }
    if (this.maxStoredBytes > 0 && bytes > this.maxStoredBytes && bytes > this.storedBytes) {
      return {
        status: 'store-full',
        message: `the push would make the gateway hold ${bytes} bytes of series text, more than GATEWAY_MAX_STORED_BYTES=${this.maxStoredBytes}`,
      };
    }
    return undefined;
  }

  async deleteGroup(grouping: Labels, _nowMs: number): Promise<boolean> {
    return await this.exclusive(undefined, async () => this.removeGroup(groupKey(grouping)));
  }

  /** Removes a group in one synchronous step; true if it existed. */
  private removeGroup(key: string): boolean {
    const state = this.states.get(key);
    if (!state) return false;
    for (const name of [...state.stored.keys()]) this.unindexFamily(state, name);
    this.states.delete(key);
    this.storedBytes -= groupBytes(key);
    this.activity.forget(key);
    if (this.states.size === 0) this.sortedNames = undefined; // the push-time families go with the last group
    this.touchGroups();
    return true;
  }

  async wipe(): Promise<void> {
    await this.exclusive(undefined, async () => {
      for (const key of [...this.states.keys()]) this.removeGroup(key);
    });
  }

  async groups(nowMs: number): Promise<Group[]> {
    this.expire(nowMs);
    return [...this.states.values()].map(groupOf);
  }

  async stats(nowMs: number): Promise<StoreStats> {
    this.expire(nowMs);
    return {
      groups: this.states.size,
      series: this.series,
      storedBytes: this.storedBytes,
      deduplicatedPushes: this.deduplicatedPushes,
      idempotencyKeysEvicted: this.idempotency.evictedEarly,
      otlpStreamsEvicted: this.windows.evictedEarly,
    };
  }

  /** The pushed part of /metrics (see core/scrape-body renderGroups, which gives the same text uncached). */
  async exposition(nowMs: number, format: ExpositionFormat): Promise<string> {
    this.expire(nowMs);
    const cached = this.bodies[format];
    if (cached !== undefined) return cached;
    if (!this.sortedNames) {
      const names = [...this.familyIndex.keys()];
      if (this.states.size > 0) names.push(pushTimeFamily.name, pushFailureTimeFamily.name);
      this.sortedNames = names.sort(compareGroupKeys);
    }
    const taken = (name: string) => this.familyIndex.has(name);
    let body = '';
    for (const name of this.sortedNames) {
      if (name === pushTimeFamily.name || name === pushFailureTimeFamily.name) {
        body += this.timeBlock(name === pushTimeFamily.name ? pushTimeFamily : pushFailureTimeFamily, format, taken);
        continue;
      }
      let block = this.blocks[format].get(name);
      if (block === undefined) {
        block = this.renderBlock(name, format, taken);
        this.blocks[format].set(name, block);
      }
      body += block;
    }
    this.bodies[format] = body;
    return body;
  }

  async close(): Promise<void> {}

  /** Aggregation mode (core/aggregate): validated like any push, then merged into the stored families. */
  private async applyAggregate(push: PushRequest): Promise<PushOutcome> {
    let scopedKey: string | undefined;
    if (push.idempotencyKey !== undefined) {
      const problem = checkIdempotencyKey(push.idempotencyKey);
      if (problem) return { status: 'invalid', message: problem };
      scopedKey = await scopedIdempotencyKey(groupKey(push.grouping), push.idempotencyKey);
    }
    const prepared = await preparePushInSlices(push, this.seriesLimits);
    // One writer's turn from checking the key to recording it: it is atomic with the data it protects.
    return await this.exclusive(prepared.ok ? prepared.push.groupKey : undefined, async () => {
      this.expire(push.nowMs);
      // Checked before the push's own validity: a push applied once is answered as a replay even if the store changed since.
      if (scopedKey !== undefined && this.idempotency.seen(scopedKey, push.nowMs)) {
        this.deduplicatedPushes++;
        this.countRetry(groupKey(push.grouping));
        return { status: 'replayed' };
      }
      const outcome = await runInSlices(this.aggregateSteps(push, prepared));
      if (outcome.status === 'applied' && scopedKey !== undefined) this.idempotency.remember(scopedKey, push.nowMs);
      return outcome;
    });
  }

  /**
   * OTLP: per group, the DELTA points are judged by their windows (core/delta-windows), the rest become one
   * aggregation push, and the windows of the applied points are recorded. No await from judging to recording, so
   * two requests carrying the same window cannot both apply it.
   */
  async applyOtlp(push: OtlpPush): Promise<OtlpOutcome> {
    return (await this.applyOtlpRecording(push)).outcome;
  }

  /** applyOtlp, also returning the windows it recorded (the Durable Object persists them). */
  applyOtlpRecording(push: OtlpPush): Promise<{ outcome: OtlpOutcome; recorded: (DeltaWindow & { stream: string })[] }> {
    return this.exclusive(undefined, async () => this.applyOtlpNow(push));
  }

  private applyOtlpNow(push: OtlpPush): { outcome: OtlpOutcome; recorded: (DeltaWindow & { stream: string })[] } {
    const recorded: (DeltaWindow & { stream: string })[] = [];
    this.expire(push.nowMs);
    const outcome: OtlpOutcome = { applied: 0, replayed: 0, overlapping: 0, invalid: 0, overCapacity: 0, messages: [] };
    const note = (message: string) => {
      if (outcome.messages.length < 5 && !outcome.messages.includes(message)) outcome.messages.push(message);
    };
    for (const group of push.groups) {
      const judged = new Map<string, DeltaWindow>();
      const kept: OtlpPoint[] = [];
      let replayed = false;
      for (const point of group.points) {
        const window = point.window;
        if (window) {
          const verdict = judgeWindow(judged.get(window.stream) ?? this.windows.last(window.stream, push.nowMs), window);
          if (verdict === 'replay') {
            outcome.replayed++;
            replayed = true;
            continue;
          }
          if (verdict === 'overlap') {
            outcome.overlapping++;
            note(`metric ${point.name}: a delta point's window overlaps or precedes the one already applied for its stream`);
            continue;
          }
          judged.set(window.stream, window);
        }
        kept.push(point);
      }
      if (replayed) this.countRetry(groupKey(group.grouping));
      if (kept.length === 0) continue;
      const assembled = familiesFromPoints(kept);
      const writeMode = kept.some((point) => point.combine === 'add') ? 'otlp-delta' : 'otlp-cumulative';
      const result = assembled.ok
        ? this.aggregate(
            { mode: 'aggregate', grouping: group.grouping, families: assembled.families, nowMs: push.nowMs },
            writeMode,
            assembled.combine,
          )
        : this.refuse(group.grouping, push.nowMs, assembled.message);
      if (result.status === 'applied') {
        outcome.applied += kept.length;
        for (const [stream, window] of judged) {
          this.windows.record(stream, window, push.nowMs);
          recorded.push({ stream, ...window });
        }
      } else if (result.status === 'too-many-series' || result.status === 'store-full') {
        outcome.overCapacity += kept.length;
        note(result.message);
      } else if (result.status === 'invalid') {
        outcome.invalid += kept.length;
        note(result.message);
      }
    }
    return { outcome, recorded };
  }

  /** An aggregation push, validated as any push, merged into the stored families (within a writer's turn). */
  private aggregate(push: PushRequest, writeMode: GroupWriteMode, combine?: CombineOverride): PushOutcome {
    return runToEnd(this.aggregateSteps(push, preparePush(push, this.seriesLimits), writeMode, combine));
  }

  /**
   * The aggregation of a push already prepared (core/validate preparePush), from the store's checks to the commit,
   * within a writer's turn.
   */
  private *aggregateSteps(
    push: PushRequest,
    prepared: PrepareResult,
    writeMode: GroupWriteMode = 'aggregated',
    combine?: CombineOverride,
  ): Sliced<PushOutcome> {
    if (!prepared.ok) return this.refuse(push.grouping, push.nowMs, prepared.message);
    const refusal = yield* checkAgainstStoreSteps(prepared.push, 'aggregate', this);
    if (refusal !== undefined) return this.refuse(push.grouping, push.nowMs, refusal);
    const state = this.states.get(prepared.push.groupKey);
    // Aggregation identifies series by label text and reads only values: the stored labels are not rebuilt. The
    // stored label texts are passed as they are (aggregate caches its series index per array).
    const current = new Map<string, KeyedFamily>();
    const stored = (name: string): KeyedFamily | undefined => {
      const family = state?.stored.get(name);
      if (!family) return undefined;
      let keyed = current.get(name);
      if (!keyed) current.set(name, (keyed = { family: familyOf(family, 'omitted'), labelTexts: family.labelTexts }));
      return keyed;
    };
    const merged = aggregateFamilies(stored, prepared.push.families, combine);
    if (!merged.ok) return this.refuse(push.grouping, push.nowMs, merged.message);
    const replaced = merged.families.map(({ family }) => family.name).filter((name) => state?.stored.has(name));
    const rendered = yield* storedFamiliesSteps(merged.families);
    const overLimit = this.overLimit(state, prepared.push.groupKey, replaced, rendered);
    if (overLimit) return overLimit;
    yield* this.commitSteps(prepared.push, replaced, rendered, push.nowMs, writeMode);
    return { status: 'applied' };
  }

  /** Removes the groups whose TTL ran out: only those, oldest first (core/expiry). */
  private expire(nowMs: number): void {
    for (const key of this.activity.popExpired(nowMs)) {
      // The group a writer is pushing to is kept, as that push will keep it.
      if (key === this.writing) this.activity.touch(key, nowMs);
      else this.removeGroup(key);
    }
  }

  /** One live group by key (the Durable Object store persists the group a push changed). */
  group(key: string, nowMs: number): Group | undefined {
    this.expire(nowMs);
    const state = this.states.get(key);
    return state && groupOf(state);
  }

  /** The live groups' keys and OTLP delta windows, without rebuilding any group (the Durable Object's sweep). */
  liveKeys(nowMs: number): { groups: string[]; deltaWindows: string[] } {
    this.expire(nowMs);
    return { groups: [...this.states.keys()], deltaWindows: this.windows.export(nowMs).map((window) => window.stream) };
  }

  /** SnapshotSource: the groups and the remembered keys at one instant (store/persistence). */
  snapshot(nowMs: number): StoreSnapshot {
    this.expire(nowMs);
    return {
      groups: [...this.states.values()].map(groupOf),
      idempotencyKeys: this.idempotency.export(nowMs),
      deltaWindows: this.windows.export(nowMs),
      deduplicatedPushes: this.deduplicatedPushes,
    };
  }

  /** SnapshotSource: loads a snapshot into an empty store (its groups passed validation when pushed). */
  restore(snapshot: StoreSnapshot): void {
    const lastActivity = (group: Group) => Math.max(group.lastPushMs, group.lastFailureMs);
    for (const group of [...snapshot.groups].sort((a, b) => lastActivity(a) - lastActivity(b))) {
      // UTF-8 names allowed whatever the setting now: a snapshot taken with them on must not be lost by turning them off.
      const prepared = preparePush(
        { grouping: group.labels, families: [...group.families.values()] },
        { ...unlimitedSeries, names: 'utf8' },
      );
      if (!prepared.ok) throw new Error(`the snapshot's group {${group.key}} is invalid: ${prepared.message}`);
      // Not bounded here: a snapshot over a since-lowered GATEWAY_MAX_STORED_BYTES is loaded whole (refusing it
      // would lose data); readiness reports it and pushes that would grow the store stay refused.
      const families = runToEnd(storedFamiliesSteps(prepared.push.families));
      runToEnd(this.commitSteps(prepared.push, [], families, group.lastPushMs, group.writeMode));
      const restored = this.states.get(prepared.push.groupKey)!;
      restored.lastFailureMs = group.lastFailureMs;
      restored.deduplicatedRetries = group.deduplicatedRetries;
      this.activity.touch(prepared.push.groupKey, lastActivity(group));
    }
    this.idempotency.import(snapshot.idempotencyKeys);
    this.windows.import(snapshot.deltaWindows ?? []);
    this.deduplicatedPushes = snapshot.deduplicatedPushes;
  }

  /** A retry of a push to this group was not applied again (a group expired or deleted since has nothing to count). */
  private countRetry(key: string): void {
    const state = this.states.get(key);
    if (state) state.deduplicatedRetries++;
  }

  private refuse(grouping: Labels, nowMs: number, message: string): PushOutcome {
    // As the official gateway: a refused push records its time on the group, creating the group if needed.
    const key = groupKey(grouping);
    let state = this.states.get(key);
    // A full store records no failure on a new group: refused pushes to ever new groupings would grow it unbounded.
    if (!state && this.maxStoredBytes > 0 && this.storedBytes + groupBytes(key) > this.maxStoredBytes)
      return { status: 'invalid', message };
    state ??= this.createGroup(key, grouping);
    state.lastFailureMs = nowMs;
    this.activity.touch(key, nowMs);
    this.touchGroups();
    return { status: 'invalid', message };
  }

  private createGroup(key: string, grouping: Labels): GroupState {
    const state: GroupState = {
      key,
      labels: groupIdentity(grouping),
      stored: new Map(),
      lastPushMs: 0,
      lastFailureMs: 0,
      deduplicatedRetries: 0,
    };
    this.states.set(key, state);
    this.storedBytes += groupBytes(key);
    this.sortedNames = undefined; // the push-time families appear with the first group
    return state;
  }

  /**
   * Stores `rendered` in place of the `replaced` families (within a writer's turn). The series index, which only
   * writers read, is updated first, in slices; then the families are swapped in one synchronous step, which is
   * all that readers see.
   */
  private *commitSteps(
    push: PreparedPush,
    replaced: readonly string[],
    rendered: readonly StoredFamily[],
    nowMs: number,
    writeMode: GroupWriteMode | undefined,
  ): Sliced<void> {
    const key = push.groupKey;
    let series = 0;
    const old = this.states.get(key);
    for (const name of replaced) {
      for (const text of old!.stored.get(name)!.labelTexts) {
        this.seriesOwners.delete(name, text);
        if (++series % SLICE === 0) yield;
      }
    }
    for (const stored of rendered) {
      for (const text of stored.labelTexts) {
        this.seriesOwners.set(stored.name, text, key);
        if (++series % SLICE === 0) yield;
      }
    }
    const state = this.states.get(key) ?? this.createGroup(key, push.groupLabels);
    for (const name of replaced) this.unstoreFamily(state, name);
    for (const stored of rendered) this.storeFamily(state, stored);
    state.lastPushMs = nowMs;
    if (writeMode === undefined) delete state.writeMode;
    else state.writeMode = writeMode;
    this.activity.touch(key, nowMs);
    this.touchGroups();
  }

  private storeFamily(state: GroupState, stored: StoredFamily): void {
    const { key } = state;
    const { name, type } = stored;
    state.stored.set(name, stored);
    this.storedBytes += stored.bytes;
    this.series += stored.labelTexts.length;
    const entry = this.familyIndex.get(name);
    if (entry) {
      entry.type = type; // validation guarantees other holders agree
      entry.holders.add(key);
    } else {
      this.familyIndex.set(name, { type, holders: new Set([key]) });
      this.sortedNames = undefined;
    }
    this.invalidateFamily(name);
  }

  /** Removes a family from its group and from the series index. */
  private unindexFamily(state: GroupState, name: string): void {
    const stored = state.stored.get(name);
    if (!stored) return;
    for (const text of stored.labelTexts) this.seriesOwners.delete(name, text);
    this.unstoreFamily(state, name);
  }

  /** Removes a family from its group (its series are already out of the series index). */
  private unstoreFamily(state: GroupState, name: string): void {
    const stored = state.stored.get(name);
    if (!stored) return;
    state.stored.delete(name);
    this.storedBytes -= stored.bytes;
    this.series -= stored.labelTexts.length;
    const entry = this.familyIndex.get(name)!;
    entry.holders.delete(state.key);
    if (entry.holders.size === 0) {
      this.familyIndex.delete(name);
      this.sortedNames = undefined;
    }
    this.invalidateFamily(name);
  }

  private invalidateFamily(name: string): void {
    this.blocks.text.delete(name);
    this.blocks.openmetrics.delete(name);
  }

  private touchGroups(): void {
    this.timeBlocks.clear();
    this.bodies = {};
  }

  private renderBlock(name: string, format: ExpositionFormat, taken: (name: string) => boolean): string {
    const entry = this.familyIndex.get(name)!;
    const holders = [...entry.holders].sort(compareGroupKeys).map((key) => this.states.get(key)!.stored.get(name)!);
    let lines = '';
    for (const stored of holders) lines += stored.lines;
    const help = chooseHelp(holders.map((stored) => stored.help));
    return renderHeader({ name, help, type: entry.type }, format, taken) + lines;
  }

  private timeBlock(
    family: typeof pushTimeFamily | typeof pushFailureTimeFamily,
    format: ExpositionFormat,
    taken: (name: string) => boolean,
  ): string {
    const cacheKey = `${format} ${family.name}`;
    const cached = this.timeBlocks.get(cacheKey);
    if (cached !== undefined) return cached;
    const groups = [...this.states.values()].sort((a, b) => compareGroupKeys(a.key, b.key));
    let block = renderHeader(family, format, taken);
    for (const group of groups) block += pushTimeLine(family, group);
    this.timeBlocks.set(cacheKey, block);
    return block;
  }
}

function* storedFamiliesSteps(families: readonly KeyedFamily[]): Sliced<StoredFamily[]> {
  const stored: StoredFamily[] = [];
  for (const family of families) stored.push(yield* storedFamilySteps(family));
  return stored;
}

/** The Group a state stands for, its families rebuilt (store/stored-family familyOf). */
function groupOf(state: GroupState): Group {
  const families = new Map<string, MetricFamily>();
  for (const [name, stored] of state.stored) families.set(name, familyOf(stored));
  const { key, labels, lastPushMs, lastFailureMs, writeMode, deduplicatedRetries } = state;
  return { key, labels, families, lastPushMs, lastFailureMs, ...(writeMode ? { writeMode } : {}), deduplicatedRetries };
}

/** What a group costs beyond its families: its key, repeated in its push_time_seconds lines. */
function groupBytes(key: string): number {
  return utf8ByteLength(key);
}

/** family name → label text → group key. */
class SeriesIndex {
  private readonly byFamily = new Map<string, Map<string, string>>();

  get(familyName: string, labelText: string): string | undefined {
    return this.byFamily.get(familyName)?.get(labelText);
  }

  set(familyName: string, labelText: string, groupKey: string): void {
    let owners = this.byFamily.get(familyName);
    if (!owners) this.byFamily.set(familyName, (owners = new Map()));
    owners.set(labelText, groupKey);
  }

  delete(familyName: string, labelText: string): void {
    const owners = this.byFamily.get(familyName);
    if (!owners?.delete(labelText)) return;
    if (owners.size === 0) this.byFamily.delete(familyName);
  }
}
