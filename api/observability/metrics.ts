// The API's prom-client registry and every metric it pushes, with the exact names and labels of DESIGN.md
// ("Metric names"), so the documented PromQL, the alert rules and the dashboards work verbatim.
// One factory, no module-level registry: Node creates one per process, the Worker one per isolate, tests one each.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; covers a fast cached read (~1 ms) up to a request that hits a 10 s timeout. */
export const httpDurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; queries are expected well below the request latency, so the low end is finer. */
export const dbDurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type SqlOperation = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'OTHER';

export interface ApiMetrics {
  registry: Registry;
  httpRequestsTotal: Counter<'method' | 'endpoint' | 'status'>;
  httpRequestDurationSeconds: Histogram<'method' | 'endpoint'>;
  activeConnections: Gauge;
  databaseConnections: Gauge;
  dbQueriesTotal: Counter<'operation'>;
  dbQueryDurationSeconds: Histogram<'operation'>;
  systemCpuUsagePercent: Gauge;
  systemMemoryUsageBytes: Gauge;
  systemDiskUsagePercent: Gauge;
  systemNetworkIoBytesTotal: Counter<'direction'>;
  postgresConnections: Gauge;
  postgresQueriesPerSecond: Gauge;
  redisConnectedClients: Gauge;
  redisMemoryUsageBytes: Gauge;
  logEventsShippedTotal: Counter;
  logEventsDroppedTotal: Counter<'reason'>;
  metricsPushFailuresTotal: Counter;
}

export interface ApiMetricsOptions {
  /**
   * Register the metrics only Node collects (system_*, postgres_*, redis_*). A Worker has no OS to read and no
   * collection interval; leaving them out keeps it from pushing gauges that would read a misleading 0.
   */
  nodeCollectors?: boolean;
  /** Register redis_* (only with nodeCollectors): without Redis its gauges would read a constant, misleading 0. */
  redis?: boolean;
}

export function createApiMetrics(
  registry: Registry = new Registry(),
  { nodeCollectors = true, redis = true }: ApiMetricsOptions = {},
): ApiMetrics {
  const registers = [registry];
  const collectorRegisters = nodeCollectors ? registers : [];
  const redisRegisters = nodeCollectors && redis ? registers : [];
  return {
    registry,
    httpRequestsTotal: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served, by method, matched route template and final status.',
      labelNames: ['method', 'endpoint', 'status'] as const,
      registers,
    }),
    httpRequestDurationSeconds: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the request entering the app to the response being ready, by method and route template.',
      labelNames: ['method', 'endpoint'] as const,
      buckets: httpDurationBuckets,
      registers,
    }),
    activeConnections: new Gauge({ name: 'active_connections', help: 'Requests in flight in this instance.', registers }),
    databaseConnections: new Gauge({ name: 'database_connections', help: 'Database connections this instance holds open.', registers }),
    dbQueriesTotal: new Counter({
      name: 'db_queries_total',
      help: 'SQL statements sent to the database (failed ones included), by SQL verb.',
      labelNames: ['operation'] as const,
      registers,
    }),
    dbQueryDurationSeconds: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Time from sending a SQL statement to its result or error, by SQL verb.',
      labelNames: ['operation'] as const,
      buckets: dbDurationBuckets,
      registers,
    }),
    systemCpuUsagePercent: new Gauge({
      name: 'system_cpu_usage_percent',
      help: 'Host CPU busy time over the last collection interval, percent of all cores.',
      registers: collectorRegisters,
    }),
    systemMemoryUsageBytes: new Gauge({
      name: 'system_memory_usage_bytes',
      help: 'Host memory in use (total minus available), bytes.',
      registers: collectorRegisters,
    }),
    systemDiskUsagePercent: new Gauge({
      name: 'system_disk_usage_percent',
      help: 'Used space of the filesystem holding the working directory, percent.',
      registers: collectorRegisters,
    }),
    systemNetworkIoBytesTotal: new Counter({
      name: 'system_network_io_bytes_total',
      help: 'Bytes received (rx) and sent (tx) by the host on all non-loopback interfaces since this instance started.',
      labelNames: ['direction'] as const,
      registers: collectorRegisters,
    }),
    postgresConnections: new Gauge({
      name: 'postgres_connections',
      help: 'Backends connected to the database server (pg_stat_activity).',
      registers: collectorRegisters,
    }),
    postgresQueriesPerSecond: new Gauge({
      name: 'postgres_queries_per_second',
      help: 'Transactions committed plus rolled back per second in the app database over the last collection interval (pg_stat_database).',
      registers: collectorRegisters,
    }),
    redisConnectedClients: new Gauge({
      name: 'redis_connected_clients',
      help: 'Clients connected to Redis (INFO clients).',
      registers: redisRegisters,
    }),
    redisMemoryUsageBytes: new Gauge({
      name: 'redis_memory_usage_bytes',
      help: 'Memory used by Redis (INFO memory used_memory), bytes.',
      registers: redisRegisters,
    }),
    logEventsShippedTotal: new Counter({ name: 'log_events_shipped_total', help: 'Log events accepted by Elasticsearch.', registers }),
    logEventsDroppedTotal: new Counter({
      name: 'log_events_dropped_total',
      help: 'Log events given up, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    metricsPushFailuresTotal: new Counter({
      name: 'metrics_push_failures_total',
      help: 'Metric pushes whose increments were given up (refused as invalid, unacknowledged past the retry window, or over the size bound).',
      registers,
    }),
  };
}
