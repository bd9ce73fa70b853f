// GATEWAY_STORE=redis: state shared by any number of stateless gateway replicas (Node or Workers). Every
// replica's /metrics shows the same totals. The transport is a RedisCommands (redis-commands.ts): Upstash REST
// (also on workerd) or RESP/TCP to one Redis or a Redis Cluster; this core and its scripts are the same.
//
// How a push stays atomic and validated without read-modify-write in the process (optimistic validation):
//   1. the process parses and prepares the push (core/validate preparePush) and checks a delta push on its
//      own (core/aggregate checkDeltaPush) — no state needed;
//   2. one read-only script fetches the facts validation needs, by key (family types and holder counts,
//      this group's family types, the owners of the pushed series) — O(size of the push);
//   3. the shared validation (core/validate checkAgainstStore) runs on those facts in the process;
//   4. one script then, atomically inside Redis: sweeps expired groups, checks the Idempotency-Key,
//      re-checks that every fact from step 2 is unchanged (else the process goes back to step 2), checks
//      histogram bounds, GATEWAY_MAX_SERIES and GATEWAY_MAX_STORED_BYTES (a byte count shared by every
//      replica), and applies the increments and index updates.
// OTLP rides on the same push: the streams' last delta windows are read and judged in the process (the one
// core/delta-windows rule), and the script applies the kept points only if those windows are still the last
// ones, recording the new ones in the same step — so a window is applied once whichever replicas it reaches.
// So validation lives in one place (core/validate) and the decision to apply is made on exactly the state
// it is applied to. A fact is what validation reads of a key, not the key's whole value (a family's type and
// whether another group holds it, not its holder count), so only a push that could change a verdict makes
// another retry: steady-state pushes never conflict, nor do new groups pushing the same families. The facts
// of a push's shape (group, families, series) are cached from the last push of that shape (any mode), so a
// steady stream of pushes costs one round trip each: stale facts are caught by step 4 like any change, and
// a refusal is only ever given on freshly read facts. Each push call carries an operation id remembered for two
// minutes in a sorted set bounded by GATEWAY_MAX_OPERATION_ID_BYTES, so a transport-level retry of the same script
// (the client library retries network errors) returns the first answer instead of applying the push twice; so do
// the calls that record a refusal, count an OTLP retry and delete (redis-scripts.ts says why the others need none).
import { aggregateFamilies, type CombineOverride, checkDeltaPush, type KeyedFamily } from '../core/aggregate.js';
import { DEFAULT_MAX_OTLP_STREAM_BYTES, type DeltaWindow, judgeWindow } from '../core/delta-windows.js';
import { formatGoFloat, parseGoFloat } from '../core/float.js';
import { groupIdentity, groupKey } from '../core/grouping.js';
import { checkIdempotencyKey, DEFAULT_MAX_IDEMPOTENCY_BYTES, scopedIdempotencyKey } from '../core/idempotency.js';
import {
  type Group,
  type GroupWriteMode,
  type HistogramMetric,
  isGroupWriteMode,
  isHistogram,
  type Labels,
  type Metric,
  type MetricFamily,
  type MetricType,
  type NativeBuckets,
} from '../core/model.js';
import { familiesFromPoints } from '../core/point-families.js';
import {
  checkAgainstStore,
  lookupKeys,
  type PreparedPush,
  type PushValidationView,
  preparePush,
  type SeriesLimits,
  unlimitedSeries,
} from '../core/validate.js';
import { DEFAULT_REDIS_KEY_PREFIX, hasHashTag, type RedisCommands } from './redis-commands.js';
import {
  deleteScript,
  factsScript,
  groupRetryScript,
  pushScript,
  readGroupsScript,
  readValuesScript,
  readWindowsScript,
  recordFailureScript,
  statsScript,
} from './redis-scripts.js';
import type { GatewayStore, OtlpGroupPush, OtlpOutcome, OtlpPoint, OtlpPush, PushOutcome, PushRequest, StoreStats } from './types.js';

export interface RedisStoreOptions {
  /** The connection (redis-rest.ts or redis-tcp.ts); closed with the store. */
  commands: RedisCommands;
  /**
   * Prefix of every key, so several gateways can share one Redis. It must hold a hash tag (`{…}`) so that all
   * of one gateway's keys share a Redis Cluster slot; default `{pushgateway}:`.
   */
  keyPrefix?: string;
  /** GATEWAY_GROUP_TTL_SECONDS in ms; 0 = never. */
  groupTtlMs?: number;
  /** GATEWAY_MAX_SERIES; 0 = no limit. */
  maxSeries?: number;
  /** GATEWAY_MAX_STORED_BYTES, counted as the scripts count it (redis-scripts.ts P..'bytes'); 0 = no limit. */
  maxStoredBytes?: number;
  /** Bound on remembered OTLP delta streams, shared by every replica (GATEWAY_MAX_OTLP_STREAM_BYTES). */
  maxOtlpStreams?: number;
  /** Bound on remembered Idempotency-Keys, shared by every replica (GATEWAY_MAX_IDEMPOTENCY_BYTES). */
  maxIdempotencyKeys?: number;
  /** Bound on remembered push-call operation ids, shared by every replica (GATEWAY_MAX_OPERATION_ID_BYTES). */
  maxOperationIds?: number;
  /** Label value length and label count per series (core/validate). */
  seriesLimits?: SeriesLimits;
  /** How often a push re-validates when concurrent pushes keep changing the facts it relied on. */
  maxConflictRetries?: number;
}

/**
 * Redis memory one remembered OTLP stream takes (its digest and window in P..'w', its time in P..'wt'): 251 bytes were
 * measured with 100,000 streams on Redis 7 (INFO used_memory). GATEWAY_MAX_OTLP_STREAM_BYTES becomes a stream count
 * with it, shared by every replica.
 */
const REDIS_STREAM_BYTES = 256;

export const redisStreamsFor = (maxBytes: number) => Math.max(1, Math.floor(maxBytes / REDIS_STREAM_BYTES));

/**
 * Redis memory one remembered Idempotency-Key takes (its 22-character digest and apply time in the P..'kt' sorted
 * set): bench/scripts/redis-footprint.ts measured 131 and 132 bytes (INFO used_memory, 100,000 keys, Redis 7) for a
 * 3- and a 15,000-character job. GATEWAY_MAX_IDEMPOTENCY_BYTES becomes a key count with it, shared by every replica.
 */
export const REDIS_IDEMPOTENCY_KEY_BYTES = 136;

export const redisIdempotencyKeysFor = (maxBytes: number) => Math.max(1, Math.floor(maxBytes / REDIS_IDEMPOTENCY_KEY_BYTES));

/**
 * Redis memory one remembered operation id takes (17–27 characters and a time in the P..'ot' sorted set):
 * bench/scripts/redis-footprint.ts measured 128 bytes (INFO used_memory, 100,000 unkeyed pushes, Redis 7).
 * GATEWAY_MAX_OPERATION_ID_BYTES becomes a count with it, shared by every replica.
 */
export const REDIS_OPERATION_ID_BYTES = 136;

/** 16 MiB: about 123,000 calls, 1,000 pushes/s for the whole window (a transport retries within seconds). */
export const DEFAULT_MAX_OPERATION_ID_BYTES = 16 * 1024 * 1024;

export const redisOperationIdsFor = (maxBytes: number) => Math.max(1, Math.floor(maxBytes / REDIS_OPERATION_ID_BYTES));

/**
 * Operation ids: 96 random bits drawn once per store (16 base64url characters), then a counter, so ids never repeat
 * across replicas or restarts without drawing randomness on every call, and stay short (at most 27 characters).
 */
function operationIds(): () => string {
  const prefix = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(12))))
    .replaceAll('+', '-')
    .replaceAll('/', '_');
  let next = 0;
  return () => prefix + (next++).toString(36);
}

/** Redis (or the REST endpoint in front of it) cannot be reached: the HTTP layer answers 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** Facts as read by factsScript, aligned with lookupKeys(push): types, othersHold ('1'/'0'), ownTypes, owners. */
type Facts = [string[], string[], string[], string[]];
/** The facts cache is bounded in bytes; a push whose shape alone is larger is never cached. */
const MAX_CACHED_SHAPE_BYTES = 16 * 1024 * 1024;
const MAX_CACHED_SHAPE_CHARS = 256 * 1024;

type ScriptResult =
  | ['applied']
  | ['replayed']
  | ['conflict']
  | ['stale-windows']
  | ['invalid', string]
  | ['too-many-series', string]
  | ['store-full', string];

/** What the push script gets to judge and record OTLP delta windows (see pushScript ARGV[13]). */
interface WindowArgs {
  /** [stream, last window as read ('' = none)]: if any changed, the points are judged again. */
  e: [string, string][];
  /** [stream, startNs, endNs] recorded with the push. */
  r: [string, string, string][];
  max: number;
}

/** A push's options beyond the request: OTLP's per-family combine rule, its delta windows, how it writes the group. */
interface PushExtras {
  combine?: CombineOverride;
  windows?: WindowArgs;
  writeMode?: GroupWriteMode;
}
type RawGroup = [string, string, string, string, Array<[string, string, string[]]>, string, string];

const METRIC_TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * Histogram families of a delta push that carry native buckets. The scripts add classic buckets inside Redis;
 * native ones are merged in the process (core/aggregate, the same merge as every store) from the values read
 * just before, and the script stores the result only if each series still holds the value read (else the
 * push is validated and merged again, as for any conflict). Merging inside Redis would need
 * core/native-histogram again in Lua.
 */
function nativeFamilies(
  families: readonly PreparedPush['families'][number][],
  combine: CombineOverride | undefined,
): PreparedPush['families'][number][] {
  return families.filter(
    ({ family }) =>
      family.type === 'histogram' &&
      (combine?.(family.name) ?? 'add') === 'add' &&
      family.metrics.some((metric) => isHistogram(metric) && metric.native),
  );
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, i) => item === b[i]);
const sameFacts = (a: Facts, b: Facts) => a.every((list, i) => sameList(list, b[i]!));

function decodeWindow(text: string): DeltaWindow | undefined {
  if (text === '') return undefined;
  const [start, end] = text.split(' ');
  return { startNs: BigInt(start!), endNs: BigInt(end!) };
}

/** The value of one series as the scripts store it (see redis-scripts.ts). */
export function encodeSeriesValue(metric: Metric): string {
  if ('buckets' in metric) {
    const bounds = metric.buckets.map((b) => formatGoFloat(b.upperBound)).join(',');
    const counts = metric.buckets.map((b) => formatGoFloat(b.cumulativeCount)).join(',');
    const classic = `${bounds}|${formatGoFloat(metric.sum)}|${formatGoFloat(metric.count)}|${counts}`;
    // Native buckets ride after a fifth `|` as JSON (finite numbers only); the scripts never add them.
    return metric.native ? `${classic}|${JSON.stringify(metric.native)}` : classic;
  }
  if ('quantiles' in metric) {
    const quantiles = metric.quantiles.map((q) => `${formatGoFloat(q.quantile)}:${formatGoFloat(q.value)}`).join(',');
    return `${formatGoFloat(metric.sum)}|${formatGoFloat(metric.count)}|${quantiles}`;
  }
  return formatGoFloat(metric.value);
}

function number(text: string | undefined): number {
  const value = text === undefined ? undefined : parseGoFloat(text);
  if (value === undefined) throw new Error(`the Redis store holds a malformed number ${JSON.stringify(text)}`);
  return value;
}

const list = (text: string) => (text === '' ? [] : text.split(','));

export function decodeSeriesValue(type: MetricType, labels: Labels, text: string): Metric {
  const parts = text.split('|');
  if (type === 'histogram') {
    const bounds = list(parts[0] ?? '');
    const counts = list(parts[3] ?? '');
    const metric: HistogramMetric = {
      labels,
      buckets: bounds.map((bound, i) => ({ upperBound: number(bound), cumulativeCount: number(counts[i]) })),
      sum: number(parts[1]),
      count: number(parts[2]),
    };
    if (parts.length > 4) metric.native = JSON.parse(parts.slice(4).join('|')) as NativeBuckets;
    return metric;
  }
  if (type === 'summary') {
    const quantiles = list(parts[2] ?? '').map((pair) => {
      const [quantile, value] = pair.split(':');
      return { quantile: number(quantile), value: number(value) };
    });
    return { labels, quantiles, sum: number(parts[0]), count: number(parts[1]) };
  }
  return { labels, value: number(text) };
}

/** Parses a sorted label text (`a="1",b="x\"y"`, as core/grouping labelText writes it) back into labels. */
export function parseLabelText(text: string): Labels {
  const labels: Labels = {};
  let i = 0;
  while (i < text.length) {
    const equals = text.indexOf('="', i);
    if (equals < 0) throw new Error(`malformed label text ${JSON.stringify(text)}`);
    const name = text.slice(i, equals);
    let value = '';
    let j = equals + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        j++;
        value += text[j] === 'n' ? '\n' : text[j];
      } else {
        value += text[j];
      }
    }
    labels[name] = value;
    i = j + 2; // past the closing quote and the comma
  }
  return labels;
}

export class RedisStore implements GatewayStore {
  readonly commands: RedisCommands;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly maxSeries: number;
  private readonly maxStoredBytes: number;
  private readonly maxOtlpStreams: number;
  private readonly maxIdempotencyKeys: number;
  private readonly maxOperationIds: number;
  private readonly seriesLimits: SeriesLimits;
  private readonly maxConflictRetries: number;
  private readonly factsByShape = new Map<string, Facts>();
  private cachedShapeBytes = 0;
  /** What a cached Facts gives validation and the push script, computed once per cached entry. */
  private readonly viewsOfFacts = new WeakMap<Facts, { view: PushValidationView; expectations: string }>();
  private readonly newOperationId = operationIds();

  constructor(options: RedisStoreOptions) {
    this.commands = options.commands;
    this.prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    if (!hasHashTag(this.prefix))
      throw new Error(`the Redis key prefix ${JSON.stringify(this.prefix)} needs a hash tag such as {pushgateway}`);
    this.ttlMs = options.groupTtlMs ?? 0;
    this.maxSeries = options.maxSeries ?? 0;
    this.maxStoredBytes = options.maxStoredBytes ?? 0;
    this.maxOtlpStreams = options.maxOtlpStreams ?? redisStreamsFor(DEFAULT_MAX_OTLP_STREAM_BYTES);
    this.maxIdempotencyKeys = options.maxIdempotencyKeys ?? redisIdempotencyKeysFor(DEFAULT_MAX_IDEMPOTENCY_BYTES);
    this.maxOperationIds = options.maxOperationIds ?? redisOperationIdsFor(DEFAULT_MAX_OPERATION_ID_BYTES);
    this.seriesLimits = options.seriesLimits ?? unlimitedSeries;
    this.maxConflictRetries = options.maxConflictRetries ?? 20;
  }

  /** Runs one store script; its reply is typed by the script's contract in redis-scripts.ts. */
  private async run<T>(what: string, script: string, args: string[]): Promise<T> {
    try {
      // KEYS[1] routes the call to the node of the prefix's slot; ARGV[1] is the prefix every key is built from.
      return (await this.commands.evalScript(script, [`${this.prefix}groups`], [this.prefix, ...args])) as T;
    } catch (error) {
      throw new StoreUnavailableError(`Redis store: ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async apply(request: PushRequest): Promise<PushOutcome> {
    // Idempotency-Keys belong to aggregation mode (as in the memory store); official-mode pushes ignore them.
    const { idempotencyKey, ...rest } = request;
    const push: PushRequest = request.mode === 'aggregate' && idempotencyKey !== undefined ? request : rest;
    if (push.idempotencyKey !== undefined) {
      const problem = checkIdempotencyKey(push.idempotencyKey);
      if (problem) return { status: 'invalid', message: problem };
    }
    const outcome = await this.push(push, {});
    if (outcome === 'stale-windows') throw new Error('the Redis push script judged windows of a push that carries none');
    return outcome;
  }

  /**
   * OTLP, group by group as the memory store does: the DELTA points are judged (core/delta-windows) on the streams'
   * last windows read from Redis, the kept points become one aggregation push, and the push script records their
   * windows only if every window read is still the last one — else another replica applied one meanwhile and the
   * points are judged again. So a window is applied once across all replicas.
   */
  async applyOtlp(push: OtlpPush): Promise<OtlpOutcome> {
    const outcome: OtlpOutcome = { applied: 0, replayed: 0, overlapping: 0, invalid: 0, overCapacity: 0, messages: [] };
    const note = (message: string) => {
      if (outcome.messages.length < 5 && !outcome.messages.includes(message)) outcome.messages.push(message);
    };
    for (const group of push.groups) {
      const { replayed, overlapping, kept, result } = await this.applyOtlpGroup(group, push.nowMs);
      outcome.replayed += replayed;
      if (replayed > 0)
        await this.run('counting a retry', groupRetryScript, [
          groupKey(group.grouping),
          String(push.nowMs),
          this.newOperationId(),
          String(this.maxOperationIds),
        ]);
      outcome.overlapping += overlapping.length;
      for (const name of overlapping)
        note(`metric ${name}: a delta point's window overlaps or precedes the one already applied for its stream`);
      if (result === undefined) continue;
      if (result.status === 'applied') outcome.applied += kept;
      else if (result.status === 'too-many-series' || result.status === 'store-full') {
        outcome.overCapacity += kept;
        note(result.message);
      } else if (result.status === 'invalid') {
        outcome.invalid += kept;
        note(result.message);
      }
    }
    return outcome;
  }

  private async applyOtlpGroup(
    group: OtlpGroupPush,
    nowMs: number,
  ): Promise<{ replayed: number; overlapping: string[]; kept: number; result?: PushOutcome }> {
    const streams = [...new Set(group.points.flatMap((point) => (point.window ? [point.window.stream] : [])))];
    for (let attempt = 0; attempt <= this.maxConflictRetries; attempt++) {
      const lasts =
        streams.length === 0
          ? []
          : await this.run<string[]>('reading OTLP windows', readWindowsScript, [
              String(nowMs),
              String(this.ttlMs),
              JSON.stringify(streams),
            ]);
      const last = new Map(streams.map((stream, i) => [stream, decodeWindow(lasts[i] ?? '')]));
      const judged = new Map<string, DeltaWindow>();
      const kept: OtlpPoint[] = [];
      let replayed = 0;
      const overlapping: string[] = [];
      for (const point of group.points) {
        const window = point.window;
        if (window) {
          const verdict = judgeWindow(judged.get(window.stream) ?? last.get(window.stream), window);
          if (verdict === 'replay') replayed++;
          else if (verdict === 'overlap') overlapping.push(point.name);
          else judged.set(window.stream, window);
          if (verdict !== 'apply') continue;
        }
        kept.push(point);
      }
      if (kept.length === 0) return { replayed, overlapping, kept: 0 };
      const request: PushRequest = { mode: 'aggregate', grouping: group.grouping, families: [], nowMs };
      const assembled = familiesFromPoints(kept);
      if (!assembled.ok) return { replayed, overlapping, kept: kept.length, result: await this.refuse(request, assembled.message) };
      // CUMULATIVE points and gauges carry no window: such a group is a plain aggregation push.
      const windows: WindowArgs | undefined =
        streams.length === 0
          ? undefined
          : {
              e: streams.map((stream, i) => [stream, lasts[i] ?? '']),
              r: [...judged].map(([stream, window]) => [stream, String(window.startNs), String(window.endNs)]),
              max: this.maxOtlpStreams,
            };
      const writeMode = kept.some((point) => point.combine === 'add') ? 'otlp-delta' : 'otlp-cumulative';
      const result = await this.push({ ...request, families: assembled.families }, { combine: assembled.combine, windows, writeMode });
      if (result !== 'stale-windows') return { replayed, overlapping, kept: kept.length, result };
    }
    throw new StoreUnavailableError(
      `Redis store: OTLP windows kept changing under concurrent exports (${this.maxConflictRetries} retries); retry it`,
    );
  }

  /**
   * One push, from validation to the script's verdict. 'stale-windows': an OTLP push whose windows another replica
   * moved on since they were read; nothing was applied and the caller judges its points again.
   */
  private async push(push: PushRequest, { combine, windows, writeMode }: PushExtras): Promise<PushOutcome | 'stale-windows'> {
    const prepared = preparePush(push, this.seriesLimits);
    if (!prepared.ok) return await this.refuse(push, prepared.message);
    if (push.mode === 'aggregate') {
      const problem = checkDeltaPush(prepared.push.families, combine);
      if (problem) return await this.refuse(push, problem);
    }
    const natives = push.mode === 'aggregate' ? nativeFamilies(prepared.push.families, combine) : [];
    /** Series entries are [text, value], or [text, merged value, the value it was merged from ('' = none)]. */
    const payloadWith = (merged: Map<string, string[][]>) =>
      JSON.stringify(
        prepared.push.families.map(({ family, labelTexts }) => {
          const entry: unknown[] = [
            family.name,
            family.type,
            family.help === undefined ? [] : [family.help],
            merged.get(family.name) ?? family.metrics.map((metric, i) => [labelTexts[i]!, encodeSeriesValue(metric)]),
          ];
          const rule = combine?.(family.name);
          if (rule !== undefined) entry.push(rule);
          return entry;
        }),
      );
    let payload = payloadWith(new Map());
    const idempotency = push.idempotencyKey === undefined ? '' : await scopedIdempotencyKey(prepared.push.groupKey, push.idempotencyKey);
    const operationId = this.newOperationId();
    const keys = lookupKeys(prepared.push);
    const shapeText = `${prepared.push.groupKey}\n${keys.familyNames.join('\n')}\n${keys.seriesKeys.join('\n')}`;
    const shape = shapeText.length <= MAX_CACHED_SHAPE_CHARS ? shapeText : undefined;
    let cached = shape === undefined ? undefined : this.factsByShape.get(shape);
    for (let attempt = 0; attempt <= this.maxConflictRetries; attempt++) {
      const facts = cached ?? (await this.readFacts(prepared.push, keys));
      let derived = this.viewsOfFacts.get(facts);
      if (derived === undefined) {
        derived = this.factsView(prepared.push, keys, facts);
        if (facts === cached) this.viewsOfFacts.set(facts, derived);
      }
      const { view, expectations } = derived;
      const refusal = checkAgainstStore(prepared.push, push.mode, view);
      if (refusal !== undefined) {
        if (cached === undefined) return await this.refuse(push, refusal);
        cached = undefined; // refuse only on fresh facts
        continue;
      }
      if (natives.length > 0) {
        const merged = await this.mergeNatives(prepared.push.groupKey, natives);
        if (typeof merged === 'string') return await this.refuse(push, merged);
        payload = payloadWith(merged);
      }
      const result = await this.run<ScriptResult>('push', pushScript, [
        String(push.nowMs),
        String(this.ttlMs),
        push.mode,
        prepared.push.groupKey,
        JSON.stringify(prepared.push.groupLabels),
        idempotency,
        operationId,
        String(this.maxSeries),
        expectations,
        payload,
        String(this.maxStoredBytes),
        windows === undefined ? '' : JSON.stringify(windows),
        writeMode ?? (push.mode === 'aggregate' ? 'aggregated' : 'replaced'),
        String(this.maxIdempotencyKeys),
        String(this.maxOperationIds),
      ]);
      switch (result[0]) {
        case 'applied':
          if (shape !== undefined) this.rememberFacts(shape, push.mode, prepared.push, keys, facts);
          return { status: 'applied' };
        case 'replayed':
          return { status: 'replayed' };
        case 'invalid':
          return { status: 'invalid', message: result[1] };
        case 'too-many-series':
          return {
            status: 'too-many-series',
            message: `the push would make the gateway hold ${result[1]} series, more than GATEWAY_MAX_SERIES=${this.maxSeries}`,
          };
        case 'store-full':
          return {
            status: 'store-full',
            message: `the push would make the gateway hold ${result[1]} bytes of series, more than GATEWAY_MAX_STORED_BYTES=${this.maxStoredBytes}`,
          };
        case 'stale-windows':
          return 'stale-windows';
        case 'conflict':
          cached = undefined;
          if (shape !== undefined) this.factsByShape.delete(shape);
          // Native merges compare whole series values, so pushes to one hot series do collide: a random,
          // growing pause spreads the retries out instead of all of them racing again at once.
          if (natives.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
          continue; // a concurrent push changed what validation relied on: validate again
      }
    }
    throw new StoreUnavailableError(
      `Redis store: the push kept conflicting with concurrent pushes (${this.maxConflictRetries} retries); retry it`,
    );
  }

  /** Reads the stored series of these families and merges the pushed deltas into them; a string is the refusal. */
  private async mergeNatives(groupKey: string, families: PreparedPush['families']): Promise<Map<string, string[][]> | string> {
    const wanted = families.flatMap(({ family, labelTexts }) => labelTexts.map((text) => [family.name, text]));
    const values = await this.run<string[]>('reading native histograms', readValuesScript, [groupKey, JSON.stringify(wanted)]);
    const read = new Map<string, Map<string, string>>();
    wanted.forEach(([name, text], i) => {
      if (values[i]) {
        let family = read.get(name!);
        if (!family) read.set(name!, (family = new Map()));
        family.set(text!, values[i]);
      }
    });
    const stored = (name: string): KeyedFamily | undefined => {
      const series = read.get(name);
      if (!series) return undefined;
      const labelTexts = [...series.keys()];
      const metrics = labelTexts.map((text) => decodeSeriesValue('histogram', parseLabelText(text), series.get(text)!));
      return { family: { name, help: undefined, type: 'histogram', metrics }, labelTexts };
    };
    const result = aggregateFamilies(stored, families);
    if (!result.ok) return result.message;
    const out = new Map<string, string[][]>();
    result.families.forEach(({ family, labelTexts }, f) => {
      const position = new Map(labelTexts.map((text, i) => [text, i]));
      const series = read.get(family.name);
      out.set(
        family.name,
        families[f]!.labelTexts.map((text) => [text, encodeSeriesValue(family.metrics[position.get(text)!]!), series?.get(text) ?? '']),
      );
    });
    return out;
  }

  private async readFacts(push: PreparedPush, { familyNames }: { familyNames: string[] }): Promise<Facts> {
    // The series index holds `name{labels}` with the name unquoted (as the push script writes it), which is not
    // core/validate's seriesKey for a UTF-8 name: the keys are built the scripts' way, in lookupKeys' order.
    const indexKeys = push.families.flatMap(({ family, labelTexts }) => labelTexts.map((text) => `${family.name}{${text}}`));
    return await this.run<Facts>('reading validation facts', factsScript, [
      push.groupKey,
      JSON.stringify(familyNames),
      JSON.stringify(indexKeys),
    ]);
  }

  /**
   * The facts as they are after this push applied: the next push of the same shape starts from them. A steady stream
   * of pushes leaves them as they were, and then the cached entry (and what factsView made of it) is kept.
   */
  private rememberFacts(
    shape: string,
    mode: PushRequest['mode'],
    push: PreparedPush,
    { familyNames, seriesKeys }: { familyNames: string[]; seriesKeys: string[] },
    facts: Facts,
  ): void {
    const [types, othersHold, ownTypes] = facts;
    // Whether other groups hold a family is not changed by this group's push. A wrong guess here costs one
    // conflict and a fresh read, never a wrong verdict: the script re-checks every fact.
    const pushedTypes = new Map(push.families.map(({ family }) => [family.name, family.type]));
    const after: Facts = [[...types], [...othersHold], [...ownTypes], seriesKeys.map(() => push.groupKey)];
    familyNames.forEach((name, i) => {
      const type = pushedTypes.get(name);
      if (type !== undefined) {
        after[0][i] = type;
        after[2][i] = type;
      } else if (mode === 'replace' && ownTypes[i] !== '') {
        // PUT dropped this group's family of that name; if no other group holds it, it is gone.
        after[2][i] = '';
        if (othersHold[i] !== '1') after[0][i] = '';
      }
    });
    if (this.factsByShape.get(shape) === facts && sameFacts(after, facts)) return;
    // Each cached shape costs about its key text again in facts (UTF-16: 2 bytes a character).
    const bytes = shape.length * 4;
    if (this.cachedShapeBytes + bytes > MAX_CACHED_SHAPE_BYTES) {
      this.factsByShape.clear();
      this.cachedShapeBytes = 0;
    }
    if (!this.factsByShape.has(shape)) this.cachedShapeBytes += bytes;
    this.factsByShape.set(shape, after);
  }

  private factsView(
    push: PreparedPush,
    { familyNames, seriesKeys }: { familyNames: string[]; seriesKeys: string[] },
    [types, othersHold, ownTypes, owners]: Facts,
  ): { view: PushValidationView; expectations: string } {
    const families = new Map<string, { type: MetricType; groups: number; own: MetricType | undefined }>();
    familyNames.forEach((name, i) => {
      const type = types[i] as MetricType | '';
      const own = ownTypes[i] as MetricType | '';
      // The view's holder count only has to tell validation whether a group other than this one holds it.
      const groups = (othersHold[i] === '1' ? 1 : 0) + (own === '' ? 0 : 1);
      if (type !== '') families.set(name, { type, groups, own: own === '' ? undefined : own });
    });
    const seriesOwners = new Map<string, string>();
    seriesKeys.forEach((key, i) => {
      if (owners[i]) seriesOwners.set(key, owners[i]!);
    });
    const view: PushValidationView = {
      family: (name) => {
        const entry = families.get(name);
        return entry && { type: entry.type, groups: entry.groups };
      },
      groupFamilyType: (key, name) => (key === push.groupKey ? families.get(name)?.own : undefined),
      seriesOwner: (key) => seriesOwners.get(key),
    };
    // Owners in payload order (the script builds the keys from the payload), this group's own key as 1: most
    // series of a steady push are its own, and the script decodes the argument on every push.
    const expectations = JSON.stringify({
      f: familyNames.map((name, i) => [name, types[i] ?? '', othersHold[i] ?? '0', ownTypes[i] ?? '']),
      s: owners.map((owner) => (owner === push.groupKey ? 1 : (owner ?? ''))),
    });
    return { view, expectations };
  }

  /** A refusal, unless the push's key was already applied (then it is a replay, as in the memory store). */
  private async refuse(push: PushRequest, message: string): Promise<PushOutcome> {
    const key = groupKey(push.grouping);
    const idempotency = push.idempotencyKey === undefined ? '' : await scopedIdempotencyKey(key, push.idempotencyKey);
    const labels = JSON.stringify(groupIdentity(push.grouping));
    const result = await this.run<'replayed' | 'invalid'>('recording a failed push', recordFailureScript, [
      key,
      labels,
      String(push.nowMs),
      idempotency,
      String(this.maxStoredBytes),
      this.newOperationId(),
      String(this.maxOperationIds),
    ]);
    return result === 'replayed' ? { status: 'replayed' } : { status: 'invalid', message };
  }

  async deleteGroup(grouping: Labels, nowMs: number): Promise<boolean> {
    return Number(await this.delete(groupKey(grouping), nowMs)) > 0;
  }

  async wipe(): Promise<void> {
    // The interface gives wipe no clock: the wall clock only dates its operation id for the window.
    await this.delete('', Date.now());
  }

  private async delete(key: string, nowMs: number): Promise<number> {
    return await this.run<number>(key === '' ? 'wipe' : 'delete', deleteScript, [
      key,
      String(nowMs),
      this.newOperationId(),
      String(this.maxOperationIds),
    ]);
  }

  async groups(nowMs: number): Promise<Group[]> {
    const raw = await this.run<RawGroup[]>('reading groups', readGroupsScript, [String(nowMs), String(this.ttlMs)]);
    const groups: Group[] = [];
    for (const [key, labelsJson, push, fail, families, mode, retries] of raw) {
      const lastPushMs = Number(push);
      const lastFailureMs = Number(fail);
      // The sweep removes at most a batch per call; anything it left is hidden here all the same.
      if (this.ttlMs > 0 && nowMs - Math.max(lastPushMs, lastFailureMs) >= this.ttlMs) continue;
      const familyMap = new Map<string, MetricFamily>();
      for (const [name, meta, values] of families) {
        const bar = meta.indexOf('|');
        const type = (bar < 0 ? meta : meta.slice(0, bar)) as MetricType;
        if (!METRIC_TYPES.has(type)) throw new Error(`the Redis store holds an unknown type ${JSON.stringify(type)} for ${name}`);
        // Hash order is not insertion order once a hash grows: sort by label text so every replica
        // renders the same series in the same order.
        const series: Array<[string, string]> = [];
        for (let i = 0; i < values.length; i += 2) series.push([values[i]!, values[i + 1]!]);
        series.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const metrics: Metric[] = series.map(([text, value]) => decodeSeriesValue(type, parseLabelText(text), value));
        familyMap.set(name, { name, help: bar < 0 ? undefined : meta.slice(bar + 1), type, metrics });
      }
      const group: Group = {
        key,
        labels: JSON.parse(labelsJson) as Labels,
        families: familyMap,
        lastPushMs,
        lastFailureMs,
        deduplicatedRetries: Number(retries),
      };
      // Groups written before the mode was recorded have none (as a group only refused pushes reached).
      if (isGroupWriteMode(mode)) group.writeMode = mode;
      groups.push(group);
    }
    return groups;
  }

  async stats(nowMs: number): Promise<StoreStats> {
    const [groups, series, deduplicated, storedBytes, streamsEvicted, keysEvicted, operationsEvicted] = await this.run<
      [number, number, string, string, string, string, string]
    >('reading stats', statsScript, [String(nowMs), String(this.ttlMs)]);
    return {
      groups: Number(groups),
      series: Number(series),
      storedBytes: Number(storedBytes),
      deduplicatedPushes: Number(deduplicated),
      otlpStreamsEvicted: Number(streamsEvicted),
      idempotencyKeysEvicted: Number(keysEvicted),
      operationIdsEvicted: Number(operationsEvicted),
    };
  }

  async close(): Promise<void> {
    await this.commands.close();
  }
}
