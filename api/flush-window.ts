// When an isolate's buffered telemetry (metric increments, log lines) goes out on Workers. Nothing runs between
// requests there, so every decision is taken at the end of a request and every send runs in that request's
// `ctx.waitUntil`:
// - the request whose items make the buffer reach `maxBytes`, or that comes `maxDelayMs` or more after the first
//   unsent item, flushes;
// - otherwise the first request of a window arms a timer inside its own `waitUntil`, so the window closes on time
//   even when no other request follows (waitUntil keeps the isolate alive for up to 30 s after the response);
//   one timer at a time, serving the windows that open while it runs.
// So no item waits longer than `maxDelayMs` before its flush starts, and requests in between send nothing.
// Runtime-free: the clock and the timer are injectable for unit tests.

export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface FlushWindowOptions {
  /** Longest an item waits for its flush, from the first unsent item of the window. */
  maxDelayMs: number;
  /** Flush as soon as this many bytes are waiting (with `pendingBytes`); unset: time only. */
  maxBytes?: number;
  pendingBytes?: () => number;
  /** Longest a timer keeps serving windows after the request that armed it (default 15 s, inside waitUntil's 30 s). */
  timerLifeMs?: number;
  /** Sends what is buffered; runs inside `ctx.waitUntil` of the request given. Must not reject. */
  flush: (ctx: WaitUntil) => Promise<void>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class FlushWindow {
  #firstUnsentAt: number | undefined;
  #timerArmed = false;
  readonly #options: FlushWindowOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: FlushWindowOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Call once per request after it added its items (its response is built): flushes now, arms the timer, or neither. */
  added(ctx: WaitUntil): void {
    const now = this.#now();
    this.#firstUnsentAt ??= now;
    const { maxBytes, pendingBytes, maxDelayMs } = this.#options;
    if (now - this.#firstUnsentAt >= maxDelayMs || (maxBytes !== undefined && pendingBytes !== undefined && pendingBytes() >= maxBytes)) {
      this.#firstUnsentAt = undefined;
      ctx.waitUntil(this.#options.flush(ctx));
      return;
    }
    if (this.#timerArmed) return;
    this.#timerArmed = true;
    ctx.waitUntil(this.#closeOnTime(ctx, now));
  }

  /**
   * Sleeps until the open window is due, then flushes it. A late request may close the window first; the timer
   * then serves the window opened after it (whose requests found a timer armed), but never sleeps past
   * `timerLifeMs` after it was armed: its request's waitUntil must still hold the flush.
   */
  async #closeOnTime(ctx: WaitUntil, armedAt: number): Promise<void> {
    const lifeEnds = armedAt + (this.#options.timerLifeMs ?? 15_000);
    for (;;) {
      const first = this.#firstUnsentAt;
      if (first === undefined) {
        this.#timerArmed = false;
        return;
      }
      const now = this.#now();
      const due = first + this.#options.maxDelayMs;
      if (due <= now || due > lifeEnds) {
        this.#timerArmed = false;
        this.#firstUnsentAt = undefined;
        await this.#options.flush(ctx);
        return;
      }
      await this.#sleep(due - now);
    }
  }

  /** Whether items are waiting for a flush that has not started. */
  get waiting(): boolean {
    return this.#firstUnsentAt !== undefined;
  }
}
