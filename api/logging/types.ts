// What both runtimes' logging offers the entries and the app (Node: node.ts, Workers: worker.ts).
import type { Logger } from 'pino';
import type { LogShippingMetrics } from './metrics.js';
import type { LogShipper } from './shipper.js';

export interface Logging {
  logger: Logger;
  /** Present when `ELASTICSEARCH_URL` is set. */
  shipper?: LogShipper;
  /** Counts shipped/dropped lines in the API's `log_events_*` counters (from `createApiMetrics`), past ones included. */
  countInto(metrics: LogShippingMetrics): void;
  /** Ships what is buffered within `timeoutMs` (Workers: pass the promise to `ctx.waitUntil`). Never rejects. */
  flush(timeoutMs?: number): Promise<void>;
}
