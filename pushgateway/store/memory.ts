// The in-memory store: groups plus the indexes that keep a push O(size of the push) whatever the store
// holds — family name → type and holding groups, series key → group — and a render cache: each family's
// block of /metrics text is rendered once after it changes, and the whole body is reused until anything
// changes. Validation is the shared pure code in core/validate.ts; this store is its PushValidationView.

import { aggregateFamilies, type CombineOverride } from '../core/aggregate.js';
import { DEFAULT_MAX_OTLP_STREAM_BYTES, type DeltaWindow, DeltaWindows, judgeWindow, streamsFor } from '../core/delta-windows.js';
import { ExpiryQueue } from '../core/expiry.js';
import { type ExpositionFormat, renderHeader } from '../core/exposition-format.js';
import { groupIdentity, groupKey } from '../core/grouping.js';
import { checkIdempotencyKey, IdempotencyKeys, scopedIdempotencyKey } from '../core/idempotency.js';
import { type Group, type GroupWriteMode, isHistogram, type Labels, type MetricFamily, type MetricType } from '../core/model.js';
import { familiesFromPoints } from '../core/point-families.js';
import {
  chooseHelp,
  compareGroupKeys,
  familyLinesSteps,
  pushFailureTimeFamily,
  pushTimeFamily,
  pushTimeLine,
} from '../core/scrape-body.js';
import { runInSlices, runToEnd, type Sliced } from '../core/slices.js';
import {
  checkAgainstStore,
  type PreparedFamily,
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

interface StoredFamily {
  family: MetricFamily;
  /** Sorted label text of each metric, as in its series key. */
  labelTexts: string[];
  /** Rendered sample lines (identical in text and OpenMetrics). */
  lines: string;
  /** UTF-8 length of `lines`: what this family adds to every scrape, and its share of storedBytes. */
  bytes: number;
}

interface GroupState {
  group: Group;
  stored: Map<string, StoredFamily>;
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
  private readonly seriesOwners = new SeriesIndex();
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
    return this.states.get(key)?.stored.get(name)?.family.type;
  }

  seriesOwner(key: string): string | undefined {
    const { familyName, labelText } = splitSeriesKey(key);
    return this.seriesOwners.get(familyName, labelText);
  }

  // What reads only the push (validation on its own, rendering its lines) runs in slices, so a large push leaves
  // the event loop to health checks, scrapes and other pushes meanwhile (core/slices). From the first look at the
  // store to the commit nothing awaits, so what is checked is what the commit changes.
  async apply(push: PushRequest): Promise<PushOutcome> {
    if (push.mode === 'aggregate') return await this.applyAggregate(push);
    const prepared = await preparePushInSlices(push, this.seriesLimits);
    const rendered = prepared.ok ? await runInSlices(renderFamilies(prepared.push.families)) : [];
    this.expire(push.nowMs);
    if (!prepared.ok) return this.refuse(push.grouping, push.nowMs, prepared.message);
    const refusal = checkAgainstStore(prepared.push, push.mode, this);
    if (refusal !== undefined) return this.refuse(push.grouping, push.nowMs, refusal);
    const state = this.states.get(prepared.push.groupKey);
    const replaced =
      push.mode === 'replace'
        ? [...(state?.stored.keys() ?? [])]
        : prepared.push.families.map((p) => p.family.name).filter((name) => state?.stored.has(name));
    const overLimit = this.overLimit(state, prepared.push.groupKey, replaced, rendered);
    if (overLimit) return overLimit;
    this.commit(prepared.push, replaced, rendered, push.nowMs, 'replaced');
    return { status: 'applied' };
  }

  /** The 429 when storing `rendered` in place of the `replaced` families would pass a store-wide bound. */
  private overLimit(
    state: GroupState | undefined,
    key: string,
    replaced: readonly string[],
    rendered: readonly StoredFamily[],
  ): PushOutcome | undefined {
    if (this.maxSeries === 0 && this.maxStoredBytes === 0) return undefined;
    let series = this.seriesOwners.size;
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
    const key = groupKey(grouping);
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
    for (const state of [...this.states.values()]) await this.deleteGroup(state.group.labels, 0);
  }

  async groups(nowMs: number): Promise<Group[]> {
    this.expire(nowMs);
    return [...this.states.values()].map((state) => state.group);
  }

  async stats(nowMs: number): Promise<StoreStats> {
    this.expire(nowMs);
    return {
      groups: this.states.size,
      series: this.seriesOwners.size,
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
    // No await from here to the commit: the key is checked and recorded atomically with the data it protects.
    this.expire(push.nowMs);
    // Checked before the push's own validity: a push applied once is answered as a replay even if the store changed since.
    if (scopedKey !== undefined && this.idempotency.seen(scopedKey, push.nowMs)) {
      this.deduplicatedPushes++;
      this.countRetry(groupKey(push.grouping));
      return { status: 'replayed' };
    }
    const outcome = this.aggregatePrepared(push, prepared);
    if (outcome.status === 'applied' && scopedKey !== undefined) this.idempotency.remember(scopedKey, push.nowMs);
    return outcome;
  }

  /**
   * OTLP: per group, the DELTA points are judged by their windows (core/delta-windows), the rest become one
   * aggregation push, and the windows of the applied points are recorded. No await from judging to recording, so
   * two requests carrying the same window cannot both apply it.
   */
  async applyOtlp(push: OtlpPush): Promise<OtlpOutcome> {
    return this.applyOtlpRecording(push).outcome;
  }

  /** applyOtlp, also returning the windows it recorded (the Durable Object persists them). */
  applyOtlpRecording(push: OtlpPush): { outcome: OtlpOutcome; recorded: (DeltaWindow & { stream: string })[] } {
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

  /** An aggregation push, validated as any push, merged into the stored families. */
  private aggregate(push: PushRequest, writeMode: GroupWriteMode, combine?: CombineOverride): PushOutcome {
    return this.aggregatePrepared(push, preparePush(push, this.seriesLimits), writeMode, combine);
  }

  /** The aggregation of a push already prepared (core/validate preparePush), from the store's checks to the commit. */
  private aggregatePrepared(
    push: PushRequest,
    prepared: PrepareResult,
    writeMode: GroupWriteMode = 'aggregated',
    combine?: CombineOverride,
  ): PushOutcome {
    if (!prepared.ok) return this.refuse(push.grouping, push.nowMs, prepared.message);
    const refusal = checkAgainstStore(prepared.push, 'aggregate', this);
    if (refusal !== undefined) return this.refuse(push.grouping, push.nowMs, refusal);
    const state = this.states.get(prepared.push.groupKey);
    const merged = aggregateFamilies((name) => state?.stored.get(name), prepared.push.families, combine);
    if (!merged.ok) return this.refuse(push.grouping, push.nowMs, merged.message);
    // The merged labelTexts arrays are kept as they are (not copied): aggregate's series index is cached per array.
    const families = merged.families.map(({ family, labelTexts }) => ({ family, labelTexts: labelTexts as string[] }));
    const replaced = families.map((p) => p.family.name).filter((name) => state?.stored.has(name));
    const rendered = families.map(renderFamily);
    const overLimit = this.overLimit(state, prepared.push.groupKey, replaced, rendered);
    if (overLimit) return overLimit;
    this.commit({ ...prepared.push, families }, replaced, rendered, push.nowMs, writeMode);
    return { status: 'applied' };
  }

  /** Removes the groups whose TTL ran out: only those, oldest first (core/expiry). */
  private expire(nowMs: number): void {
    for (const key of this.activity.popExpired(nowMs)) {
      const state = this.states.get(key);
      // deleteGroup has no await: it completes synchronously here.
      if (state) void this.deleteGroup(state.group.labels, nowMs);
    }
  }

  /** One live group by key (the Durable Object store persists the group a push changed). */
  group(key: string, nowMs: number): Group | undefined {
    this.expire(nowMs);
    return this.states.get(key)?.group;
  }

  /** SnapshotSource: the groups and the remembered keys at one instant (store/persistence). */
  snapshot(nowMs: number): StoreSnapshot {
    this.expire(nowMs);
    return {
      groups: [...this.states.values()].map((state) => state.group),
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
      this.commit(prepared.push, [], prepared.push.families.map(renderFamily), group.lastPushMs, group.writeMode);
      const restored = this.states.get(prepared.push.groupKey)!.group;
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
    if (state) state.group.deduplicatedRetries++;
  }

  private refuse(grouping: Labels, nowMs: number, message: string): PushOutcome {
    // As the official gateway: a refused push records its time on the group, creating the group if needed.
    const key = groupKey(grouping);
    let state = this.states.get(key);
    // A full store records no failure on a new group: refused pushes to ever new groupings would grow it unbounded.
    if (!state && this.maxStoredBytes > 0 && this.storedBytes + groupBytes(key) > this.maxStoredBytes)
      return { status: 'invalid', message };
    state ??= this.createGroup(key, grouping);
    state.group.lastFailureMs = nowMs;
    this.activity.touch(key, nowMs);
    this.touchGroups();
    return { status: 'invalid', message };
  }

  private createGroup(key: string, grouping: Labels): GroupState {
    const state: GroupState = {
      group: { key, labels: groupIdentity(grouping), families: new Map(), lastPushMs: 0, lastFailureMs: 0, deduplicatedRetries: 0 },
      stored: new Map(),
    };
    this.states.set(key, state);
    this.storedBytes += groupBytes(key);
    this.sortedNames = undefined; // the push-time families appear with the first group
    return state;
  }

  private commit(
    push: PreparedPush,
    replaced: string[],
    rendered: readonly StoredFamily[],
    nowMs: number,
    writeMode: GroupWriteMode | undefined,
  ): void {
    const state = this.states.get(push.groupKey) ?? this.createGroup(push.groupKey, push.groupLabels);
    for (const name of replaced) this.unindexFamily(state, name);
    for (const stored of rendered) this.indexFamily(state, stored);
    state.group.lastPushMs = nowMs;
    if (writeMode === undefined) delete state.group.writeMode;
    else state.group.writeMode = writeMode;
    this.activity.touch(push.groupKey, nowMs);
    this.touchGroups();
  }

  private indexFamily(state: GroupState, stored: StoredFamily): void {
    const { key } = state.group;
    const { family, labelTexts } = stored;
    state.stored.set(family.name, stored);
    this.storedBytes += stored.bytes;
    state.group.families.set(family.name, family);
    for (const text of labelTexts) this.seriesOwners.set(family.name, text, key);
    const entry = this.familyIndex.get(family.name);
    if (entry) {
      entry.type = family.type; // validation guarantees other holders agree
      entry.holders.add(key);
    } else {
      this.familyIndex.set(family.name, { type: family.type, holders: new Set([key]) });
      this.sortedNames = undefined;
    }
    this.invalidateFamily(family.name);
  }

  private unindexFamily(state: GroupState, name: string): void {
    const stored = state.stored.get(name);
    if (!stored) return;
    state.stored.delete(name);
    this.storedBytes -= stored.bytes;
    state.group.families.delete(name);
    for (const text of stored.labelTexts) this.seriesOwners.delete(name, text);
    const entry = this.familyIndex.get(name)!;
    entry.holders.delete(state.group.key);
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
    const help = chooseHelp(holders.map((stored) => stored.family.help));
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
    const groups = [...this.states.values()].map((state) => state.group).sort((a, b) => compareGroupKeys(a.key, b.key));
    let block = renderHeader(family, format, taken);
    for (const group of groups) block += pushTimeLine(family, group);
    this.timeBlocks.set(cacheKey, block);
    return block;
  }
}

function* renderFamilies(families: readonly PreparedFamily[]): Sliced<StoredFamily[]> {
  const rendered: StoredFamily[] = [];
  for (const { family, labelTexts } of families) {
    const lines = yield* familyLinesSteps(family, labelTexts);
    rendered.push({ family, labelTexts, lines, bytes: utf8ByteLength(lines) + nativeBytes(family) });
  }
  return rendered;
}

function renderFamily(prepared: PreparedFamily): StoredFamily {
  return runToEnd(renderFamilies([prepared]))[0]!;
}

/**
 * Native buckets are not in the text lines but are held and served in protobuf: each counts as the 8 bytes of
 * its count (plus 8 per span), so GATEWAY_MAX_STORED_BYTES bounds them too.
 */
function nativeBytes(family: MetricFamily): number {
  if (family.type !== 'histogram') return 0;
  let bytes = 0;
  for (const metric of family.metrics) {
    const native = isHistogram(metric) ? metric.native : undefined;
    if (native)
      bytes +=
        8 * (native.positiveCounts.length + native.negativeCounts.length + native.positiveSpans.length + native.negativeSpans.length);
  }
  return bytes;
}

/** What a group costs beyond its families: its key, repeated in its push_time_seconds lines. */
function groupBytes(key: string): number {
  return utf8ByteLength(key);
}

/** family name → label text → group key, with a running count of series. */
class SeriesIndex {
  private readonly byFamily = new Map<string, Map<string, string>>();
  size = 0;

  get(familyName: string, labelText: string): string | undefined {
    return this.byFamily.get(familyName)?.get(labelText);
  }

  set(familyName: string, labelText: string, groupKey: string): void {
    let owners = this.byFamily.get(familyName);
    if (!owners) this.byFamily.set(familyName, (owners = new Map()));
    const before = owners.size;
    owners.set(labelText, groupKey);
    this.size += owners.size - before;
  }

  delete(familyName: string, labelText: string): void {
    const owners = this.byFamily.get(familyName);
    if (!owners?.delete(labelText)) return;
    this.size--;
    if (owners.size === 0) this.byFamily.delete(familyName);
  }
}
