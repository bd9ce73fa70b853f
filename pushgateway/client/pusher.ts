// The delta pusher: reads a prom-client registry and pushes to the gateway's aggregation mode, exactly once.
//   counters, histograms → POST <url>/aggregate/metrics/job/<job>                (deltas, summed across instances)
//   gauges               → POST <url>/aggregate/metrics/job/<job>/instance/<id>  (current values, one group each)
// or, with protocol 'otlp', both as OTLP/HTTP protobuf to POST <url>/v1/metrics (wire.ts).
// Every push has its own key (sent as Idempotency-Key) and covers its own interval of time, from the end of the
// last push that may have been applied (sent on OTLP points, by which the gateway tells a retry from new data).
// The rules (see outcome.ts and delta.ts):
//   - unknown outcome → the same body under the same key is retried until the gateway answers definitively;
//     increments made meanwhile wait for the next push;
//   - certainly not applied → the push is forgotten; its increments go out merged into the next push, new key;
//   - 400 → dropped and counted, never retried;
//   - points a 2xx answer says were refused (OTLP partial_success) → dropped and counted, as a 400;
//   - a key still unresolved after `giveUpAfterMs` (well inside the gateway's 10-minute idempotency window) is
//     given up and counted: a bounded loss instead of a possible double count.
// Memory is bounded: the pending body is at most `maxPushBytes`; beyond that, changed series wait for the next
// push in the same cycle, and a single series that can never fit is given up, counted and logged.
import type { DeltaInterval, PushBody } from './body-writer.js';
import { Baseline, buildDeltaPush, buildGaugePush, type CoveredSeries } from './delta.js';
import { type AttemptOutcome, classify } from './outcome.js';
import { RepeatedWarnings } from './repeated-warnings.js';
import { type PromJsonMetric, snapshotFromPromJson } from './snapshot.js';
import { fetchTransport, type PushTransport } from './transport.js';
import { type PushProtocol, type PushWire, pushWire } from './wire.js';

export interface PusherLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface MetricsPusherOptions {
  /** A prom-client Registry (anything with its `getMetricsAsJSON()`). */
  registry: { getMetricsAsJSON(): Promise<readonly PromJsonMetric[]> };
  /** Gateway base URL, e.g. http://127.0.0.1:9091 (the client adds /aggregate/metrics/... or /v1/metrics). */
  url: string;
  /** 'pushgateway' (default): text to /aggregate; 'otlp': OTLP/HTTP protobuf to /v1/metrics. */
  protocol?: PushProtocol;
  job: string;
  /** This instance's id; its gauges go to their own group so instances do not overwrite each other. */
  instance: string;
  /** Bearer token for the gateway (GATEWAY_PUSH_TOKEN there, PUSHGATEWAY_TOKEN here). */
  token?: string;
  transport?: PushTransport;
  /** Request timeout of the default transport. */
  timeoutMs?: number;
  /** Upper bound of one push body (and so of what the client holds pending). */
  maxPushBytes?: number;
  /** Stop retrying a key this long after its first attempt (must stay well below the gateway's 10 minutes). */
  giveUpAfterMs?: number;
  /** Called with 1 for every push (or series) whose increments were given up: wire to metrics_push_failures_total. */
  onGiveUp?: (count: number) => void;
  logger?: PusherLogger;
  now?: () => number;
  newKey?: () => string;
}

interface PendingPush {
  key: string;
  body: PushBody;
  /** The end of the interval it covers: the next push starts there, whether this one was applied or given up. */
  endNs: bigint;
  covered: CoveredSeries[];
  firstAttemptMs: number;
  attempts: number;
}

export interface PushCycleReport {
  /** Delta pushes the gateway acknowledged in this cycle (a retried one included). */
  acknowledged: number;
  /** A push with an unknown outcome is waiting to be retried with its key. */
  pending: boolean;
  /** Some increments are known not to have reached the gateway yet (not applied, or waiting behind `pending`). */
  unsent: boolean;
  /** Pushes or series given up in this cycle (also reported to onGiveUp). */
  gaveUp: number;
  gaugesPushed: boolean;
}

const MIN_PUSH_BYTES = 4 * 1024;
/** At most this many bounded pushes per cycle when changes exceed one body; the rest waits for the next cycle. */
const MAX_PUSHES_PER_CYCLE = 16;

const consoleLogger: PusherLogger = {
  info: (fields, message) => console.info(message, fields),
  warn: (fields, message) => console.warn(message, fields),
  error: (fields, message) => console.error(message, fields),
};

export class MetricsPusher {
  private readonly baseline = new Baseline();
  private pending: PendingPush | undefined;
  private maxPushBytes: number;
  private inFlight: Promise<PushCycleReport> | undefined;
  private rerun = false;
  private failedCycles = 0;
  private nextAttemptMs = 0;
  private readonly transport: PushTransport;
  private readonly logger: PusherLogger;
  private readonly warnings: RepeatedWarnings;
  private readonly now: () => number;
  private readonly newKey: () => string;
  private readonly headers: Record<string, string>;
  private readonly wire: PushWire;
  /** Where the next delta push's interval starts: the end of the last one that may have been applied. */
  private intervalStartNs: bigint;
  readonly deltaUrl: string;
  readonly gaugeUrl: string;

  constructor(private readonly options: MetricsPusherOptions) {
    this.wire = pushWire(options.protocol ?? 'pushgateway', options);
    this.deltaUrl = this.wire.deltaUrl;
    this.gaugeUrl = this.wire.gaugeUrl;
    this.transport = options.transport ?? fetchTransport({ timeoutMs: options.timeoutMs ?? 10_000 });
    this.logger = options.logger ?? consoleLogger;
    this.now = options.now ?? Date.now;
    this.warnings = new RepeatedWarnings(this.logger, this.now);
    this.newKey = options.newKey ?? (() => crypto.randomUUID());
    this.maxPushBytes = Math.max(MIN_PUSH_BYTES, options.maxPushBytes ?? 256 * 1024);
    this.headers = { 'Content-Type': this.wire.contentType };
    if (options.token) this.headers.Authorization = `Bearer ${options.token}`;
    this.intervalStartNs = this.nowNs();
  }

  private nowNs(): bigint {
    return BigInt(Math.floor(this.now())) * 1_000_000n;
  }

  /**
   * The interval the next delta push covers. It never ends where it starts, even when the clock has not moved
   * (on workerd it stands still between I/O) or went back: the gateway takes an interval seen before for a retry.
   */
  private nextInterval(): DeltaInterval {
    const now = this.nowNs();
    return { startNs: this.intervalStartNs, endNs: now > this.intervalStartNs ? now : this.intervalStartNs + 1n };
  }

  /** Whether a push with an unknown outcome is waiting for its retry. */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Runs one push cycle, coalesced: while a cycle is in flight, further calls return undefined and make the running
   * cycle go once more when it ends, so at most one push is in flight (what a Worker isolate needs). After a cycle
   * that left increments unsent, calls return undefined until a backoff (1 s doubling to 30 s) has passed, so a
   * gateway that is down is not hit by every request.
   */
  pushCoalesced(): Promise<PushCycleReport> | undefined {
    if (this.inFlight) {
      this.rerun = true;
      return undefined;
    }
    if (this.now() < this.nextAttemptMs) return undefined;
    return this.startCycles();
  }

  /** One push cycle now (no backoff); waits for a cycle in flight first, so it reflects everything counted before the call. */
  async push(): Promise<PushCycleReport> {
    while (this.inFlight) await this.inFlight.catch(() => undefined);
    return await this.startCycles();
  }

  private startCycles(): Promise<PushCycleReport> {
    this.inFlight = (async () => {
      try {
        let report: PushCycleReport;
        do {
          this.rerun = false;
          report = await this.cycle();
        } while (this.rerun && !report.unsent);
        this.failedCycles = report.unsent ? this.failedCycles + 1 : 0;
        this.nextAttemptMs = report.unsent ? this.now() + Math.min(30_000, 1_000 * 2 ** Math.min(this.failedCycles - 1, 5)) : 0;
        return report;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /**
   * Pushes until everything counted so far is acknowledged or `timeoutMs` passes (for shutdown). Returns whether
   * everything went out; what did not is logged.
   */
  async flush(timeoutMs: number, retryDelayMs = 250): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const report = await this.push();
      if (!report.pending && !report.unsent) {
        this.warnings.flush();
        return true;
      }
      if (this.now() + retryDelayMs >= deadline) {
        this.warnings.flush();
        this.logger.error(
          { pending: report.pending, unsent: report.unsent },
          'metrics push: shutdown flush timed out; increments since the last acknowledged push are lost',
        );
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }

  private giveUp(count: number): void {
    this.options.onGiveUp?.(count);
  }

  private async send(url: string, body: PushBody, key: string): Promise<AttemptOutcome> {
    const headers = this.wire.sendsIdempotencyKey ? { ...this.headers, 'Idempotency-Key': key } : this.headers;
    return classify(await this.transport({ url, body, headers }));
  }

  /** A delta push is settled (acknowledged, or dropped for good): the baseline and the next interval move on. */
  private settle(covered: readonly CoveredSeries[], endNs: bigint): void {
    this.baseline.advance(covered);
    this.intervalStartNs = endNs;
  }

  /** Points an acknowledged delta push had refused (OTLP partial success) are lost like a 400: counted, logged. */
  private countRefused(outcome: Extract<AttemptOutcome, { kind: 'acknowledged' }>, key: string, report: PushCycleReport): void {
    const refused = this.wire.refused(outcome.body);
    if (!refused) return;
    report.gaveUp += refused.count;
    this.giveUp(refused.count);
    this.logger.error(
      { idempotencyKey: key, refusedPoints: refused.count, reason: refused.message },
      'metrics push: gateway refused some points of the push; their increments are dropped',
    );
  }

  /** Resolves the pending push if there is one; true when the way is clear for new pushes. */
  private async retryPending(report: PushCycleReport): Promise<boolean> {
    const pending = this.pending;
    if (!pending) return true;
    if (this.now() - pending.firstAttemptMs >= (this.options.giveUpAfterMs ?? 5 * 60_000)) {
      // It may have been applied, so it cannot be re-sent under a new key: a bounded, counted loss.
      this.settle(pending.covered, pending.endNs);
      this.pending = undefined;
      report.gaveUp++;
      this.giveUp(1);
      this.logger.error(
        { idempotencyKey: pending.key, attempts: pending.attempts, series: pending.covered.length },
        'metrics push: gave up retrying a push with unknown outcome; its increments are lost (counted in metrics_push_failures_total)',
      );
      return true;
    }
    pending.attempts++;
    const outcome = await this.send(this.deltaUrl, pending.body, pending.key);
    if (outcome.kind === 'acknowledged') {
      this.settle(pending.covered, pending.endNs);
      this.pending = undefined;
      report.acknowledged++;
      this.countRefused(outcome, pending.key, report);
      return true;
    }
    if (outcome.kind === 'invalid') {
      // Had an earlier attempt been applied, the gateway would have answered this one as a replay.
      this.settle(pending.covered, pending.endNs);
      this.pending = undefined;
      report.gaveUp++;
      this.giveUp(1);
      this.logger.error(
        { idempotencyKey: pending.key, series: pending.covered.length },
        'metrics push: gateway refused the push as invalid (400); dropped',
      );
      return true;
    }
    // Even a definitive refusal now says nothing about an earlier attempt of this key: keep retrying it.
    this.warnings.warn(
      { idempotencyKey: pending.key, attempts: pending.attempts, outcome: outcome.detail },
      'metrics push: retry not acknowledged; will retry with the same key',
    );
    return false;
  }

  private async cycle(): Promise<PushCycleReport> {
    const report: PushCycleReport = { acknowledged: 0, pending: false, unsent: false, gaveUp: 0, gaugesPushed: false };
    const snapshot = snapshotFromPromJson(await this.options.registry.getMetricsAsJSON());

    if (!(await this.retryPending(report))) {
      report.pending = true;
      report.unsent = true;
      await this.pushGauges(snapshot, report);
      return report;
    }

    for (let round = 0; round < MAX_PUSHES_PER_CYCLE; round++) {
      const interval = this.nextInterval();
      const push = buildDeltaPush(snapshot, this.baseline, this.maxPushBytes, this.wire.deltaWriter(interval));
      if (push.oversized.length > 0) {
        this.baseline.advance(push.oversized);
        report.gaveUp += push.oversized.length;
        this.giveUp(push.oversized.length);
        this.logger.error(
          { series: push.oversized.map(({ id }) => id.split('\u0002')[0]), maxPushBytes: this.maxPushBytes },
          'metrics push: a series is larger than the push size bound; its increments are dropped',
        );
      }
      if (push.series === 0) break;
      const key = this.newKey();
      const outcome = await this.send(this.deltaUrl, push.body, key);
      if (outcome.kind === 'acknowledged') {
        this.settle(push.covered, interval.endNs);
        report.acknowledged++;
        this.countRefused(outcome, key, report);
        // Changed series that did not fit wait for the next round (or, past the round limit, the next cycle).
        report.unsent = push.truncated;
        if (push.truncated) continue;
        break;
      }
      if (outcome.kind === 'unknown') {
        this.pending = {
          key,
          body: push.body,
          endNs: interval.endNs,
          covered: push.covered,
          firstAttemptMs: this.now(),
          attempts: 1,
        };
        this.warnings.warn(
          { idempotencyKey: key, outcome: outcome.detail, series: push.series },
          'metrics push: outcome unknown; retrying with the same key',
        );
        // One immediate retry (same key, so safe): the common cause is a keep-alive connection the gateway had
        // just closed (ECONNRESET), which a fresh connection fixes.
        if (await this.retryPending(report)) continue;
        report.pending = true;
        report.unsent = true;
        break;
      }
      if (outcome.kind === 'invalid') {
        this.settle(push.covered, interval.endNs);
        report.gaveUp++;
        report.unsent = push.truncated;
        this.giveUp(1);
        this.logger.error({ idempotencyKey: key, series: push.series }, 'metrics push: gateway refused the push as invalid (400); dropped');
        break;
      }
      // Certainly not applied: forget the body; the same increments stay `current - baseline` for the next push.
      report.unsent = true;
      if (outcome.tooLarge && this.maxPushBytes > MIN_PUSH_BYTES) {
        this.maxPushBytes = Math.max(MIN_PUSH_BYTES, Math.floor(this.maxPushBytes / 2));
      }
      this.warnings.warn(
        { outcome: outcome.detail, series: push.series, maxPushBytes: this.maxPushBytes },
        'metrics push: not applied by the gateway; increments kept for the next push',
      );
      break;
    }
    await this.pushGauges(snapshot, report);
    return report;
  }

  /** Gauges are current values: a failed push needs no retry, the next one carries fresher values. */
  private async pushGauges(snapshot: ReturnType<typeof snapshotFromPromJson>, report: PushCycleReport): Promise<void> {
    const gauges = buildGaugePush(snapshot, this.maxPushBytes, this.wire.gaugeWriter(this.nowNs()));
    if (gauges.omitted > 0) {
      this.warnings.warn(
        { omitted: gauges.omitted, maxPushBytes: this.maxPushBytes },
        'metrics push: gauge series over the push size bound were left out',
      );
    }
    if (gauges.series === 0) return;
    const outcome = await this.send(this.gaugeUrl, gauges.body, this.newKey());
    report.gaugesPushed = outcome.kind === 'acknowledged';
    const refused = outcome.kind === 'acknowledged' ? this.wire.refused(outcome.body) : undefined;
    if (refused)
      this.warnings.warn({ refusedPoints: refused.count, reason: refused.message }, 'metrics push: gateway refused some gauge points');
    if (!report.gaugesPushed)
      this.warnings.warn({ outcome: 'detail' in outcome ? outcome.detail : outcome.kind }, 'metrics push: gauge push not acknowledged');
  }
}
