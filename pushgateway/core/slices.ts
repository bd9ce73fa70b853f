// Long computations over a push (parsing, validation, rendering) are written as generators that pause every
// SLICE items, so one large push can be run in slices that let the event loop serve other requests in between
// (health checks, scrapes, small pushes), or run to the end at once where nothing else may interleave. A push
// smaller than one slice never pauses, so the common small push costs nothing extra.

/** Items (lines, series) between two pauses: a few milliseconds of work. */
export const SLICE = 8192;

/** A computation that pauses (yields) between slices and returns T at the end. */
export type Sliced<T> = Generator<void, T, void>;

/** Runs every slice at once. */
export function runToEnd<T>(steps: Sliced<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs one slice per macrotask. setTimeout because Node and workerd both have it (setImmediate is Node's, and
 * scheduler.yield is neither's on every version we run); its 1 ms clamp on Node costs ~1 ms per 8 192 items.
 */
export async function runInSlices<T>(steps: Sliced<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}
