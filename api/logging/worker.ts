// Logging on Workers: pino's browser build (the one that runs on workerd; the Node build needs worker
// threads and fs) made to write the same ECS JSON line as the Node logger, to the console (Workers Logs; while
// shipping, warnings and worse only unless LOG_CONSOLE_LEVEL says otherwise) and into an on-demand shipper.
// The lines of many requests go out in one bulk request: the entry calls `afterRequest(ctx)` once per request,
// and a flush window (api/flush-window.ts) sends in that request's
// `ctx.waitUntil` once LOG_BATCH_MAX_BYTES are waiting or LOG_FLUSH_INTERVAL_MS after the first waiting line.
// It is imported by path so the same build runs under vitest as in the wrangler bundle.

import type { Logger } from 'pino';
import pino from 'pino/browser.js';
import { FlushWindow, type WaitUntil } from '../flush-window.js';
import { type AccessLineWriter, workerEcsAccessWriter } from './access-line.js';
import type { LoggingConfig, LogLevel } from './config.js';
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
  /** Runs in the same `waitUntil` after each flush, e.g. to push the shipped/dropped counts it made. */
  afterFlush?: (ctx: WaitUntil) => void;
}

export interface WorkerLogging extends Logging {
  /** The access line, written as `logger` would write it but built directly (for the observe middleware). */
  accessLine: AccessLineWriter;
  /** Call once per request, after its response is built: ships in its `waitUntil` when the batch is due. */
  afterRequest(ctx: WaitUntil): void;
}

/** A bulk request must settle well inside the 30 s waitUntil allows after the response. */
const bulkRequestTimeoutMs = 5_000;
/** What a window's flush may take, retries included; with the window it stays inside waitUntil's 30 s. */
const windowFlushTimeoutMs = 10_000;

const levelMethods = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** The level labels at `lowest` or more severe. */
function levelsFrom(lowest: LogLevel): Set<string> {
  const index = levelMethods.indexOf(lowest as (typeof levelMethods)[number]);
  return new Set(index < 0 ? [] : levelMethods.slice(0, index + 1));
}

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

export function createWorkerLogging(config: LoggingConfig, options: WorkerLoggingOptions = {}): WorkerLogging {
  const print = options.console ?? ((line: string) => console.log(line));
  const report: ShipperReport = (level, message, fields) =>
    print(JSON.stringify(ecsRecord({ 'log.level': level, 'log.logger': 'log-shipper', ...fields, message }, config, new Date())));

  let shipper: LogShipper | undefined;
  let flushWindow: FlushWindow | undefined;
  if (config.elasticsearch) {
    const onDemand = new LogShipper({
      transport: fetchBulkTransport(
        { requestTimeoutMs: bulkRequestTimeoutMs, ...config.elasticsearch },
        config.elasticsearch.dataStream,
        options.fetch,
      ),
      mode: 'on-demand',
      maxBufferBytes: config.elasticsearch.maxBufferBytes,
      maxBatchBytes: config.elasticsearch.maxBatchBytes,
      ...options.shipper,
      report,
    });
    shipper = onDemand;
    flushWindow = new FlushWindow({
      maxDelayMs: config.elasticsearch.flushIntervalMs,
      maxBytes: config.elasticsearch.maxBatchBytes,
      pendingBytes: () => onDemand.queuedBytes,
      flush: async (ctx) => {
        await onDemand.flush(windowFlushTimeoutMs);
        options.afterFlush?.(ctx);
      },
    });
  }

  // With shipping on, every line reaches Elasticsearch; printing each to the console as well (Workers Logs, billed
  // per line) is the costliest step of a request in workerd, so by default only warnings and worse are printed too.
  const printed = levelsFrom(config.consoleLevel ?? (config.elasticsearch ? 'warn' : config.level));
  const emit = (line: string, level: string) => {
    if (printed.has(level)) print(line);
    shipper?.write(`${line}\n`);
  };
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
    emit(line, record['log.level'] as string);
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
    accessLine: workerEcsAccessWriter(config, levelsFrom(config.level), emit),
    ...(shipper ? { shipper } : {}),
    countInto: (metrics) => shipper?.attachCounters(shipperCounters(metrics)),
    flush: async (timeoutMs = windowFlushTimeoutMs) => {
      await shipper?.flush(timeoutMs);
    },
    afterRequest: (ctx) => {
      // A request that logged nothing (LOG_LEVEL above info) opens no window.
      if (flushWindow && shipper && shipper.queuedBytes > 0) flushWindow.added(ctx);
    },
  };
}
