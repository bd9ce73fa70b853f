// The in-memory store: groups plus the indexes that keep a push O(size of the push) whatever the store
// holds — family name → type and holding groups, series key → group — and a render cache: each family's
// block of /metrics text is rendered once after it changes, and the whole body is reused until anything
// changes. Validation is the shared pure code in core/validate.ts; this store is its PushValidationView.
import { chooseHelp, compareGroupKeys, familyLines, pushFailureTimeFamily, pushTimeFamily, pushTimeLine } from '../core/exposition.js';
import { groupIdentity, groupKey } from '../core/grouping.js';
import type { Group, Labels, MetricFamily, MetricType } from '../core/model.js';
import { renderHeader, type ExpositionFormat } from '../core/render.js';
import { checkAgainstStore, preparePush, seriesKey, type PreparedFamily, type PreparedPush, type PushValidationView } from '../core/validate.js';
import type { GatewayStore, PushOutcome, PushRequest } from './types.js';

export interface MemoryStoreOptions {
  /** A push that would make the store hold more series than this is refused (0 = no limit). */
  maxSeries?: number;
}

interface StoredFamily {
  family: MetricFamily;
  /** Sorted label text of each metric, as in its series key. */
  labelTexts: string[];
  /** Rendered sample lines (identical in text and OpenMetrics). */
  lines: string;
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

export class MemoryStore implements GatewayStore, PushValidationView {
  private readonly states = new Map<string, GroupState>();
  private readonly familyIndex = new Map<string, FamilyEntry>();
  private readonly seriesOwners = new Map<string, string>();
  private readonly maxSeries: number;
  private deduplicatedPushes = 0;

  // Render cache; every mutation goes through indexFamily/unindexFamily/touchGroup, which invalidate it.
  private readonly blocks: Record<ExpositionFormat, Map<string, string>> = { text: new Map(), openmetrics: new Map() };
  private sortedNames: string[] | undefined;
  private timeBlocks = new Map<string, string>();
  private bodies: Partial<Record<ExpositionFormat, string>> = {};

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSeries = options.maxSeries ?? 0;
  }

  // PushValidationView
  family(name: string): { type: MetricType; groups: number } | undefined {
    const entry = this.familyIndex.get(name);
    return entry && { type: entry.type, groups: entry.holders.size };
  }

  groupFamilyType(key: string, name: string): MetricType | undefined {
    return this.states.get(key)?.stored.get(name)?.family.type;
  }

  seriesOwner(key: string): string | undefined {
    return this.seriesOwners.get(key);
  }

  async apply(push: PushRequest): Promise<PushOutcome> {
    if (push.mode === 'aggregate') return { status: 'invalid', message: 'this store does not implement aggregation mode' };
    const prepared = preparePush(push);
    if (!prepared.ok) return this.refuse(push.grouping, push.nowMs, prepared.message);
    const refusal = checkAgainstStore(prepared.push, push.mode, this);
    if (refusal !== undefined) return this.refuse(push.grouping, push.nowMs, refusal);
    const state = this.states.get(prepared.push.groupKey);
    const replaced = push.mode === 'replace' ? [...(state?.stored.keys() ?? [])] : prepared.push.families.map((p) => p.family.name).filter((name) => state?.stored.has(name));
    if (this.maxSeries > 0) {
      let removed = 0;
      for (const name of replaced) removed += state!.stored.get(name)!.labelTexts.length;
      let added = 0;
      for (const p of prepared.push.families) added += p.labelTexts.length;
      const after = this.seriesOwners.size - removed + added;
      if (after > this.maxSeries) {
        return { status: 'too-many-series', message: `the push would make the gateway hold ${after} series, more than GATEWAY_MAX_SERIES=${this.maxSeries}` };
      }
    }
    this.commit(prepared.push, replaced, push.nowMs);
    return { status: 'applied' };
  }

  async deleteGroup(grouping: Labels, _nowMs: number): Promise<boolean> {
    const key = groupKey(grouping);
    const state = this.states.get(key);
    if (!state) return false;
    for (const name of [...state.stored.keys()]) this.unindexFamily(state, name);
    this.states.delete(key);
    this.touchGroups();
    return true;
  }

  async wipe(): Promise<void> {
    for (const state of [...this.states.values()]) await this.deleteGroup(state.group.labels, 0);
  }

  async groups(_nowMs: number): Promise<Group[]> {
    return [...this.states.values()].map((state) => state.group);
  }

  async stats(_nowMs: number): Promise<{ groups: number; series: number; deduplicatedPushes: number }> {
    return { groups: this.states.size, series: this.seriesOwners.size, deduplicatedPushes: this.deduplicatedPushes };
  }

  /** The pushed part of /metrics (see core/exposition renderGroups, which gives the same text uncached). */
  async exposition(_nowMs: number, format: ExpositionFormat): Promise<string> {
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

  private refuse(grouping: Labels, nowMs: number, message: string): PushOutcome {
    // As the official gateway: a refused push records its time on the group, creating the group if needed.
    const key = groupKey(grouping);
    const state = this.states.get(key) ?? this.createGroup(key, grouping);
    state.group.lastFailureMs = nowMs;
    this.touchGroups();
    return { status: 'invalid', message };
  }

  private createGroup(key: string, grouping: Labels): GroupState {
    const state: GroupState = { group: { key, labels: groupIdentity(grouping), families: new Map(), lastPushMs: 0, lastFailureMs: 0 }, stored: new Map() };
    this.states.set(key, state);
    this.sortedNames = undefined; // the push-time families appear with the first group
    return state;
  }

  private commit(push: PreparedPush, replaced: string[], nowMs: number): void {
    const state = this.states.get(push.groupKey) ?? this.createGroup(push.groupKey, push.groupLabels);
    for (const name of replaced) this.unindexFamily(state, name);
    for (const prepared of push.families) this.indexFamily(state, prepared);
    state.group.lastPushMs = nowMs;
    this.touchGroups();
  }

  private indexFamily(state: GroupState, { family, labelTexts }: PreparedFamily): void {
    const { key } = state.group;
    state.stored.set(family.name, { family, labelTexts, lines: familyLines(family) });
    state.group.families.set(family.name, family);
    for (const text of labelTexts) this.seriesOwners.set(seriesKey(family.name, text), key);
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
    state.group.families.delete(name);
    for (const text of stored.labelTexts) this.seriesOwners.delete(seriesKey(name, text));
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

  private timeBlock(family: typeof pushTimeFamily | typeof pushFailureTimeFamily, format: ExpositionFormat, taken: (name: string) => boolean): string {
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
