import { describe, expect, it } from 'vitest';
import { FlushWindow, type WaitUntil } from './flush-window.js';

/** A hand-driven clock and timers, and a ctx that records what each request handed to waitUntil. */
function harness(options: { maxDelayMs: number; maxBytes?: number; timerLifeMs?: number }) {
  let now = 0;
  let bytes = 0;
  const timers: Array<{ at: number; fire: () => void }> = [];
  const flushes: number[] = [];
  const waited: Array<Promise<unknown>> = [];
  const window = new FlushWindow({
    ...options,
    pendingBytes: () => bytes,
    flush: async () => {
      flushes.push(now);
      bytes = 0;
    },
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => timers.push({ at: now + ms, fire: resolve })),
  });
  const ctx: WaitUntil = { waitUntil: (promise) => void waited.push(promise) };
  return {
    window,
    flushes,
    /** A request at `at` that added `added` bytes; returns how many promises it handed to waitUntil. */
    request(at: number, added = 100): number {
      now = at;
      bytes += added;
      const before = waited.length;
      window.added(ctx);
      return waited.length - before;
    },
    /** Lets the clock run to `at`, firing the timers due by then. */
    async advance(at: number): Promise<void> {
      now = at;
      for (const timer of timers.filter((candidate) => candidate.at <= at)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.fire();
      }
      // Let the fired timers' continuations (and the flushes they start) run; unfired timers stay pending.
      await new Promise((resolve) => setImmediate(resolve));
    },
    pendingTimers: () => timers.length,
  };
}

describe('FlushWindow', () => {
  it('sends the items of many requests in one flush when the first one has waited maxDelayMs', async () => {
    const h = harness({ maxDelayMs: 1_000 });
    expect(h.request(0)).toBe(1); // arms the timer
    for (let at = 10; at < 1_000; at += 10) expect(h.request(at)).toBe(0);
    expect(h.flushes).toEqual([]);
    await h.advance(1_000);
    expect(h.flushes).toEqual([1_000]);
  });

  it('flushes on time when no request follows: the timer runs in the first request’s waitUntil', async () => {
    const h = harness({ maxDelayMs: 500 });
    h.request(100);
    await h.advance(599);
    expect(h.flushes).toEqual([]);
    await h.advance(600);
    expect(h.flushes).toEqual([600]);
    expect(h.pendingTimers()).toBe(0);
  });

  it('flushes in the request that brings the buffer to maxBytes, and the timer then finds nothing to do', async () => {
    const h = harness({ maxDelayMs: 1_000, maxBytes: 1_000 });
    h.request(0, 400);
    h.request(10, 400);
    expect(h.flushes).toEqual([]);
    expect(h.request(20, 400)).toBe(1);
    await h.advance(20);
    expect(h.flushes).toEqual([20]);
    await h.advance(1_000);
    expect(h.flushes).toEqual([20]);
  });

  it('lets a late request flush at once when the timer of its window has not fired yet', async () => {
    const h = harness({ maxDelayMs: 100 });
    h.request(0);
    expect(h.request(150)).toBe(1);
    await h.advance(150);
    expect(h.flushes).toEqual([150]);
    expect(h.window.waiting).toBe(false);
  });

  it('a timer whose window a late request closed serves the next window on time, not early', async () => {
    const h = harness({ maxDelayMs: 100 });
    h.request(0);
    h.request(150); // late: flushes the first window
    expect(h.request(160)).toBe(0); // opens the second window; a timer is still armed
    await h.advance(160); // the first timer fires, finds the second window not due, sleeps on
    expect(h.flushes).toEqual([150]);
    await h.advance(259);
    expect(h.flushes).toEqual([150]);
    await h.advance(260);
    expect(h.flushes).toEqual([150, 260]);
  });

  it('never keeps a timer past timerLifeMs: a window beyond it is flushed early instead', async () => {
    const h = harness({ maxDelayMs: 100, timerLifeMs: 200 });
    h.request(0);
    h.request(150);
    h.request(190);
    await h.advance(190); // the second window would be due at 290, past the timer's life (200)
    expect(h.flushes).toEqual([150, 190]);
  });

  it('opens a new window after a flush: items after it wait for their own timer', async () => {
    const h = harness({ maxDelayMs: 100 });
    h.request(0);
    await h.advance(100);
    expect(h.request(130)).toBe(1);
    expect(h.window.waiting).toBe(true);
    await h.advance(229);
    expect(h.flushes).toEqual([100]);
    await h.advance(230);
    expect(h.flushes).toEqual([100, 230]);
  });
});
