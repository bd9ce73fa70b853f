// `c.var.logger`: the request's logger, bound to its trace id. Most requests never log anything besides the
// access line, so the pino child (bindings serialized, redacted, a new prototype chain) is made on first use,
// not per request.
import type { Bindings, Logger } from 'pino';

/** What handlers may call on `c.var.logger`. */
export type RequestLogger = Pick<Logger, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'isLevelEnabled'> & {
  child(bindings: Bindings): RequestLogger;
};

type Call = (...args: unknown[]) => void;

class LazyChildLogger {
  readonly #root: Logger;
  readonly #traceId: string;
  #child: Logger | undefined;

  constructor(root: Logger, traceId: string) {
    this.#root = root;
    this.#traceId = traceId;
  }

  get #logger(): Logger {
    this.#child ??= this.#root.child({ 'trace.id': this.#traceId });
    return this.#child;
  }

  fatal(...args: unknown[]): void {
    (this.#logger.fatal as Call)(...args);
  }
  error(...args: unknown[]): void {
    (this.#logger.error as Call)(...args);
  }
  warn(...args: unknown[]): void {
    (this.#logger.warn as Call)(...args);
  }
  info(...args: unknown[]): void {
    (this.#logger.info as Call)(...args);
  }
  debug(...args: unknown[]): void {
    (this.#logger.debug as Call)(...args);
  }
  trace(...args: unknown[]): void {
    (this.#logger.trace as Call)(...args);
  }
  child(bindings: Bindings): RequestLogger {
    return this.#logger.child(bindings);
  }
  isLevelEnabled(level: string): boolean {
    return this.#root.isLevelEnabled(level);
  }
}

/** The request's logger: `root` bound to `trace.id` once something logs through it; `root` itself without an id. */
export function requestLogger(root: Logger, traceId: string | undefined): RequestLogger {
  return traceId ? (new LazyChildLogger(root, traceId) as unknown as RequestLogger) : (root as unknown as RequestLogger);
}
