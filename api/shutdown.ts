// Shutdown hooks: the parts of the Node process that hold something (the database pool, the metrics
// pusher's last push, the log shipper's buffer) register an async hook; on SIGTERM/SIGINT they run
// last-registered first (like `defer`), so what was set up first — the logger — is flushed last and
// still records the others. The hooks share one time budget, so a shutdown with every dependency unreachable
// still ends inside the orchestrator's grace period; each later hook keeps a minimum share of it, so one that
// hangs cannot starve the log flush after it. One that fails or hangs does not stop the rest. Each hook is
// announced before it runs, so a slow shutdown shows where it is.
import type { Logger } from 'pino';

/** A hook is told its share of the budget, so it can stop its own work in time to report what it left undone. */
export type ShutdownHook = (budgetMs: number) => Promise<void> | void;

export interface ShutdownHooks {
  add(name: string, hook: ShutdownHook): void;
  /** Runs every hook once within `timeoutMs` altogether (later calls return the same promise). */
  run(options: { logger: Logger; timeoutMs: number }): Promise<void>;
}

export function createShutdownHooks(): ShutdownHooks {
  const hooks: Array<{ name: string; hook: ShutdownHook }> = [];
  let running: Promise<void> | undefined;
  return {
    add(name, hook) {
      hooks.push({ name, hook });
    },
    run({ logger, timeoutMs }) {
      running ??= (async () => {
        const ordered = [...hooks].reverse();
        const deadline = Date.now() + timeoutMs;
        const minimumMs = Math.min(1_000, Math.floor(timeoutMs / (2 * Math.max(1, ordered.length))));
        for (const [index, { name, hook }] of ordered.entries()) {
          const later = ordered.length - index - 1;
          const budgetMs = Math.max(minimumMs, deadline - Date.now() - later * minimumMs);
          logger.info({ hook: name, budgetMs }, `shutdown: ${name} (up to ${budgetMs} ms)`);
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timeout = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), budgetMs);
          });
          try {
            const outcome = await Promise.race([Promise.resolve().then(() => hook(budgetMs)), timeout]);
            if (outcome === 'timeout') logger.warn({ hook: name, timeoutMs: budgetMs }, `shutdown hook "${name}" did not finish in time`);
          } catch (error) {
            logger.error({ err: error, hook: name }, `shutdown hook "${name}" failed`);
          } finally {
            clearTimeout(timer);
          }
        }
      })();
      return running;
    },
  };
}
