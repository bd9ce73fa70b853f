// When an isolate's buffered telemetry (metric increments, log lines) goes out on Workers. Nothing runs between
// requests there, so every decision is taken at the end of a request and every send runs in that request's
// `ctx.waitUntil`:
// - the request whose items make the buffer reach `maxBytes`, or that comes `maxDelayMs` or more after the first
//   unsent item, flushes;
// - otherwise the first request of a window arms a timer inside its own `waitUntil`, so the window closes on time
//   even when no other request follows (waitUntil keeps the isolate alive for up to 30 s after the response).
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
    ctx.waitUntil(
      this.#sleep(this.#firstUnsentAt + maxDelayMs - now).then(() => {
        this.#timerArmed = false;
        // A flush on size (or on a late request) may have emptied the window meanwhile.
        if (this.#firstUnsentAt === undefined) return;
        this.#firstUnsentAt = undefined;
        return this.#options.flush(ctx);
      }),
    );
  }

  /** Whether items are waiting for a flush that has not started. */
  get waiting(): boolean {
    return this.#firstUnsentAt !== undefined;
  }
}
