// Logging on Workers: pino's browser build (the one that runs on workerd; the Node build needs worker
// threads and fs) made to write the same ECS JSON line as the Node logger, to the console (Workers Logs) and
// into an on-demand shipper that the Worker entry flushes in `ctx.waitUntil`.
// It is imported by path so the same build runs under vitest as in the wrangler bundle.
import pino from 'pino/browser.js';
import type { Logger } from 'pino';
import type { LoggingConfig } from './config.js';
import { ecsRecord } from './ecs.js';
import { shipperCounters } from './metrics.js';
import { LogShipper, type ShipperReport, type ShipperTuning } from './shipper.js';
import { fetchBulkTransport } from './transport-fetch.js';
import type { Logging } from './types.js';

export interface WorkerLoggingOptions {
  /** Where each JSON line goes besides the shipper (default `console.log`; Workers Logs parse JSON lines). */
  console?: (line: string) => void;
  fetch?: typeof fetch;
  shipper?: ShipperTuning;
}

const levelMethods = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * Node pino files an Error given as the first argument under `err`; the browser build would merge its
 * (non-enumerable, so: no) own properties instead. Re-route it so `logger.error(err)` means the same on both.
 */
function errorFirstLikeNode(logger: Logger): void {
  for (const method of levelMethods) {
    const original = logger[method] as (...args: unknown[]) => void;
    (logger as unknown as Record<string, unknown>)[method] = function (this: Logger, first: unknown, ...rest: unknown[]) {
      if (first instanceof Error) return original.call(this, { err: first }, ...(rest.length > 0 ? rest : [first.message]));
      return original.call(this, first, ...rest);
    };
  }
}

export function createWorkerLogging(config: LoggingConfig, options: WorkerLoggingOptions = {}): Logging {
  const print = options.console ?? ((line: string) => console.log(line));
  const report: ShipperReport = (level, message, fields) =>
    print(JSON.stringify(ecsRecord({ 'log.level': level, 'log.logger': 'log-shipper', ...fields, message }, config, new Date())));

  let shipper: LogShipper | undefined;
  if (config.elasticsearch) {
    shipper = new LogShipper({
      // A bulk request must settle well inside the 30 s waitUntil allows after the response.
      transport: fetchBulkTransport({ requestTimeoutMs: 5_000, ...config.elasticsearch }, config.elasticsearch.dataStream, options.fetch),
      mode: 'on-demand',
      maxBufferBytes: config.elasticsearch.maxBufferBytes,
      ...options.shipper,
      report,
    });
  }

  const write = (record: Record<string, unknown>) => {
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch (error) {
      // Node pino serializes cycles safely; here a cyclic field must not fail the request that logs it.
      line = JSON.stringify({
        'log.level': record['log.level'],
        '@timestamp': record['@timestamp'],
        'service.name': record['service.name'],
        message: record.message,
        'error.message': `log record not serializable: ${String(error)}`,
      });
    }
    print(line);
    shipper?.write(`${line}\n`);
  };

  const logger = pino({
    level: config.level,
    messageKey: 'message',
    timestamp: false,
    onChild: (child: Logger) => errorFirstLikeNode(child),
    browser: {
      asObject: true,
      formatters: {
        level: (label: string) => ({ 'log.level': label }),
        log: (object: Record<string, unknown>) => ecsRecord(object, config, new Date()),
      },
      write: write as never,
    },
  }) as Logger;
  errorFirstLikeNode(logger);

  return {
    logger,
    ...(shipper ? { shipper } : {}),
    countInto: (metrics) => shipper?.attachCounters(shipperCounters(metrics)),
    flush: async (timeoutMs = 10_000) => {
      await shipper?.flush(timeoutMs);
    },
  };
}
