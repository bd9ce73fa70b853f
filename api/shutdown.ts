// Shutdown hooks: the parts of the Node process that hold something (the database pool, the metrics
// pusher's last push, the log shipper's buffer) register an async hook; on SIGTERM/SIGINT they run
// last-registered first (like `defer`), so what was set up first — the logger — is flushed last and
// still records the others. Each hook has its own time budget; one that fails or hangs does not stop the rest.
import type { Logger } from 'pino';

export type ShutdownHook = () => Promise<void> | void;

export interface ShutdownHooks {
  add(name: string, hook: ShutdownHook): void;
  /** Runs every hook once (later calls return the same promise). */
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
        for (const { name, hook } of [...hooks].reverse()) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timeout = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), timeoutMs);
          });
          try {
            const outcome = await Promise.race([Promise.resolve().then(hook), timeout]);
            if (outcome === 'timeout') logger.warn({ hook: name, timeoutMs }, `shutdown hook "${name}" did not finish in time`);
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
