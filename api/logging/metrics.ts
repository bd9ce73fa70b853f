// Binds the shipper to the API's `log_events_shipped_total` / `log_events_dropped_total{reason}` counters
// (created with every other metric in api/observability/metrics.ts, so they are pushed with the rest).
// Every drop reason starts at 0 so `increase(log_events_dropped_total[5m])` has a series before the first drop.
import type { Counter } from 'prom-client';
import type { DropReason, ShipperCounters } from './shipper.js';

export const dropReasons: readonly DropReason[] = ['buffer_full', 'rejected', 'too_large', 'shutdown', 'bad_response'];

export interface LogShippingMetrics {
  logEventsShippedTotal: Counter;
  logEventsDroppedTotal: Counter<'reason'>;
}

export function shipperCounters(metrics: LogShippingMetrics): ShipperCounters {
  for (const reason of dropReasons) metrics.logEventsDroppedTotal.inc({ reason }, 0);
  return {
    shipped: (count) => metrics.logEventsShippedTotal.inc(count),
    dropped: (reason, count) => metrics.logEventsDroppedTotal.inc({ reason }, count),
  };
}
