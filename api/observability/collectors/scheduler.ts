// Runs the dependency and system collectors on an interval, off the request path. A collector that throws or
// hangs only logs: the others keep running, the app keeps serving, and its gauges keep their last value.
export interface Collector {
  name: string;
  collect(): Promise<void>;
}

export interface CollectorLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RunningCollectors {
  /** Runs every collector once now and waits for them (start-up, tests, the final push at shutdown). */
  collectNow(): Promise<void>;
  stop(): void;
}

export function startCollectors(
  collectors: readonly Collector[],
  { intervalMs, logger, timeoutMs = Math.max(1_000, intervalMs) }: { intervalMs: number; logger: CollectorLogger; timeoutMs?: number },
): RunningCollectors {
  // A collector still running from the last tick is skipped rather than stacked up behind itself.
  const running = new Map<string, Promise<void>>();
  const runOne = (collector: Collector): Promise<void> => {
    const inFlight = running.get(collector.name);
    if (inFlight) return inFlight;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    const run = Promise.race([collector.collect(), timeout])
      .catch((error: unknown) =>
        logger.warn({ collector: collector.name, err: error instanceof Error ? error.message : String(error) }, 'metrics collector failed'),
      )
      .finally(() => {
        clearTimeout(timer);
        running.delete(collector.name);
      });
    running.set(collector.name, run);
    return run;
  };
  const collectNow = async () => {
    await Promise.all(collectors.map(runOne));
  };
  const interval = setInterval(() => void collectNow(), intervalMs);
  interval.unref?.();
  return { collectNow, stop: () => clearInterval(interval) };
}
