// The store interface every backend implements (memory, file-persisted memory, Redis, Durable Object).
// HTTP handlers talk only to this; validation of a push happens inside `apply`, on the whole push, before
// anything is changed, so a refused push leaves the store as it was (but for push_failure_time_seconds).

import type { ExpositionFormat } from '../core/exposition-format.js';
import type { Group, Labels, Metric, MetricFamily, MetricType } from '../core/model.js';

/**
 * How a push changes its group:
 * - `replace`: PUT — the group becomes exactly the pushed families.
 * - `merge-families`: POST — pushed families replace same-named families in the group; others stay.
 * - `aggregate`: POST|PUT under /aggregate — counters and histograms are deltas added to what is stored,
 *   gauges replace per series, summaries are refused.
 */
export type PushMode = 'replace' | 'merge-families' | 'aggregate';

export interface PushRequest {
  mode: PushMode;
  /**
   * Grouping labels from the URL as given, including job. The group's identity adds instance="" when absent
   * (core/grouping groupIdentity); body metrics without an instance label get instance="" (validation).
   */
  grouping: Labels;
  /** Parsed families; grouping labels not yet applied (the store's validation applies them). */
  families: MetricFamily[];
  /**
   * Set when a pushed sample carried a timestamp: the body parsed, but validation refuses the push (and,
   * as the official gateway, records push_failure_time_seconds for the group).
   */
  timestampedSample?: { name: string; line: number };
  /** Aggregation mode only: a key applied within the idempotency window is not applied again. */
  idempotencyKey?: string;
  /** Time of the push, Unix ms (injected so tests and TTL are deterministic). */
  nowMs: number;
}

export type PushOutcome =
  | { status: 'applied' }
  | { status: 'replayed' }
  | { status: 'invalid'; message: string }
  | { status: 'too-many-series'; message: string }
  /** GATEWAY_MAX_STORED_BYTES: the push would make the store hold more bytes of series text. */
  | { status: 'store-full'; message: string };

/**
 * One OTLP data point, translated (otlp/translate.ts): a sample of family `name`, its labels the point's attributes
 * (grouping labels not yet applied). `combine` says how it meets the stored series: `add` for DELTA points (the
 * /aggregate semantics, whatever the Prometheus type: a DELTA up-down counter is a gauge that adds), `replace` for
 * CUMULATIVE sums and histograms, gauges and summaries.
 */
export interface OtlpPoint {
  name: string;
  help: string | undefined;
  type: MetricType;
  metric: Metric;
  combine: 'add' | 'replace';
  /**
   * DELTA points: the stream (resource + scope + metric + attributes, as a fixed-size digest) and the window
   * [startNs, endNs) the point covers, judged by core/delta-windows before anything is applied.
   */
  window?: { stream: string; startNs: bigint; endNs: bigint };
}

/** The points of one OTLP request that fall in one group (its resource's job and instance). */
export interface OtlpGroupPush {
  grouping: Labels;
  points: OtlpPoint[];
}

export interface OtlpPush {
  groups: OtlpGroupPush[];
  nowMs: number;
}

/** Point counts by what became of them, and why some were refused (for partial_success.error_message). */
export interface OtlpOutcome {
  applied: number;
  /** DELTA points whose window was applied before: not applied again. */
  replayed: number;
  /** DELTA points whose window overlaps, or comes before, the stream's last applied window: refused. */
  overlapping: number;
  /** Points of a group whose push was refused as invalid (a type conflict, a limit): refused. */
  invalid: number;
  /** Points of a group refused because the gateway is full (GATEWAY_MAX_SERIES, GATEWAY_MAX_STORED_BYTES). */
  overCapacity: number;
  messages: string[];
}

export interface StoreStats {
  groups: number;
  series: number;
  /**
   * The running total GATEWAY_MAX_STORED_BYTES bounds: UTF-8 bytes of the stored series text (sample lines and group
   * keys) in the memory store and Durable Object; on Redis the bytes its scripts count (redis-scripts.ts P..'bytes').
   */
  storedBytes?: number;
  deduplicatedPushes: number;
  /** Idempotency-Keys forgotten before their window ended because GATEWAY_MAX_IDEMPOTENCY_BYTES was reached. */
  idempotencyKeysEvicted?: number;
  /** OTLP delta streams forgotten before the group TTL because GATEWAY_MAX_OTLP_STREAM_BYTES was reached. */
  otlpStreamsEvicted?: number;
  /** Redis: push-call operation ids forgotten before their window ended because GATEWAY_MAX_OPERATION_ID_BYTES was reached. */
  operationIdsEvicted?: number;
}

export interface GatewayStore {
  apply(push: PushRequest): Promise<PushOutcome>;
  /**
   * OTLP points, group by group: each group's points are judged (DELTA windows) and applied as one push (all or
   * nothing for that group), atomically with recording their windows.
   */
  applyOtlp(push: OtlpPush): Promise<OtlpOutcome>;
  /** Removes exactly the group with these grouping labels; true if it existed. */
  deleteGroup(grouping: Labels, nowMs: number): Promise<boolean>;
  wipe(): Promise<void>;
  /** Every live group (expired ones excluded), for rendering /metrics and /api/v1/metrics. */
  groups(nowMs: number): Promise<Group[]>;
  /**
   * The pushed part of GET /metrics, for stores that keep a render cache. Stores without one leave it out
   * and the HTTP layer renders `groups()` with core/scrape-body renderGroups, which gives the same text.
   */
  exposition?(nowMs: number, format: ExpositionFormat): Promise<string>;
  /** Counters about the store itself, for gateway_groups / gateway_series. */
  stats(nowMs: number): Promise<StoreStats>;
  close(): Promise<void>;
}
