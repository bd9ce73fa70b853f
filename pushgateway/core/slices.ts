// Long computations over a push (decoding, parsing, validation, rendering) are written as generators that pause
// every SLICE items, so one large push can be run in slices that let the event loop serve other requests in
// between (health checks, scrapes, small pushes), or run to the end at once where nothing else may interleave. A
// push smaller than one slice never pauses, so the common small push costs nothing extra.

/**
 * Items (lines, series) between two pauses: ~1 ms of work on an idle core, a few on a busy one. Measured on a
 * 400k-series PUT (bench large-push), 8 192 held /-/healthy for 50–100 ms per slice on a loaded machine.
 */
export const SLICE = 1024;

/** Bytes (of a body being decoded, of a text being measured) between two pauses: about as long as one SLICE. */
export const SLICE_BYTES = 256 * 1024;

/** A computation that pauses (yields) between slices and returns T at the end. */
export type Sliced<T> = Generator<void, T, void>;

/** Runs every slice at once. */
export function runToEnd<T>(steps: Sliced<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

// setImmediate where the runtime has it (Node): it lets pending I/O in, as a timer does, without the timer's
// 1 ms clamp, which would add ~1 ms per slice. setTimeout elsewhere (workerd without node compatibility).
const { setImmediate } = globalThis as { setImmediate?: (callback: () => void) => unknown };
const pause: () => Promise<void> = setImmediate
  ? () => new Promise<void>((resolve) => setImmediate(resolve))
  : () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Runs one slice per macrotask. */
export async function runInSlices<T>(steps: Sliced<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pause();
  }
}

/** Byte chunks copied into one buffer of `total` bytes, pausing every SLICE_BYTES copied: a body can be megabytes. */
export function* concatenateSteps(chunks: readonly Uint8Array[], total: number): Sliced<Uint8Array> {
  const bytes = new Uint8Array(total);
  let offset = 0;
  let copiedSincePause = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
    copiedSincePause += chunk.byteLength;
    if (copiedSincePause >= SLICE_BYTES && offset < total) {
      copiedSincePause = 0;
      yield;
    }
  }
  return bytes;
}
