// Logging on Node: pino with ECS fields (`@elastic/ecs-pino-format`), secret-named fields redacted before
// serialization, and up to three destinations fed by one serialized line — stdout, a rotated file (pino-roll)
// and the Elasticsearch shipper (in-process, O(1) per line: it queues the string pino already made).
import { hostname } from 'node:os';
import { ecsFormat } from '@elastic/ecs-pino-format';
import type { Client } from '@elastic/elasticsearch';
import pino, {
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
  type StreamEntry,
} from 'pino';
import { type AccessLineWriter, ecsAccessWriter } from './access-line.js';
import type { LoggingConfig } from './config.js';
import { avoidEcsConflicts } from './ecs.js';
import { shipperCounters } from './metrics.js';
import { redactSecrets } from './redact.js';
import { openRotatingFile } from './rotating-file.js';
import { LogShipper, type ShipperReport, type ShipperTuning } from './shipper.js';
import { createElasticsearchClient, elasticsearchClientTransport } from './transport-client.js';
import type { Logging } from './types.js';

export interface NodeLoggingOptions {
  /** Replaces stdout (tests); default: `stdoutDestination(1)`, flushed on close and on exit. */
  stdout?: DestinationStream;
  /** Replaces the client built from `config.elasticsearch` (tests: `@elastic/elasticsearch-mock`). */
  elasticsearchClient?: Client;
  /** Shipper tuning beyond the config (tests and benchmarks). */
  shipper?: ShipperTuning;
}

export interface NodeLogging extends Logging {
  /** Shutdown: ships what is buffered, then closes the log file and flushes stdout. */
  close(timeoutMs?: number): Promise<void>;
  /** Writes access lines (observe's `accessLog.write`) byte for byte as `logger` would, at a fraction of the cost. */
  accessLine: AccessLineWriter;
}

function ecsLoggerOptions(config: LoggingConfig): LoggerOptions {
  const ecs = ecsFormat({
    apmIntegration: false,
    serviceName: config.serviceName,
    ...(config.serviceVersion ? { serviceVersion: config.serviceVersion } : {}),
    ...(config.environment ? { serviceEnvironment: config.environment } : {}),
  });
  const formatters = ecs.formatters!;
  return {
    ...ecs,
    level: config.level,
    base: { pid: process.pid, hostname: hostname() },
    formatters: {
      level: formatters.level!,
      bindings: (bindings) => redactSecrets(formatters.bindings!(bindings)),
      log: (object) => avoidEcsConflicts(redactSecrets(formatters.log!(object))),
    },
  };
}

/**
 * Asynchronous, written in blocks of up to 8 KiB at most 100 ms after a line: one write(2) per line was the
 * largest cost of an access line once it is built directly. pino flushes it synchronously on exit (and
 * `close()` does), so a line is late by at most 100 ms and never lost to a clean exit or process.exit().
 */
export function stdoutDestination(dest: number | string): DestinationStream {
  return pino.destination({ dest, sync: false, minLength: 8192, periodicFlush: 100 } as Parameters<typeof pino.destination>[0]);
}

function allLevels(stream: DestinationStream): StreamEntry {
  // The logger's own level decides; a multistream entry defaults to `info` otherwise.
  return { level: 'trace', stream };
}

export function createNodeLogging(config: LoggingConfig, options: NodeLoggingOptions = {}): NodeLogging {
  const loggerOptions = ecsLoggerOptions(config);
  const stdout = options.stdout ?? stdoutDestination(1);
  const file = config.file
    ? openRotatingFile(config.file, (error) => process.stderr.write(`LOG_FILE ${config.file!.path}: ${error.message}\n`))
    : undefined;
  const local: DestinationStream[] = file ? [stdout, file] : [stdout];

  // The shipper's own trouble goes to stdout and the file only: a report about a full buffer must not
  // queue into that buffer.
  const diagnostics = pino({ ...loggerOptions, name: 'log-shipper' }, pino.multistream(local.map(allLevels)));
  const report: ShipperReport = (level, message, fields) => diagnostics[level](fields, message);

  let shipper: LogShipper | undefined;
  if (config.elasticsearch) {
    const client = options.elasticsearchClient ?? createElasticsearchClient(config.elasticsearch);
    shipper = new LogShipper({
      transport: elasticsearchClientTransport(client, config.elasticsearch.dataStream),
      mode: 'background',
      maxBufferBytes: config.elasticsearch.maxBufferBytes,
      maxBatchBytes: config.elasticsearch.maxBatchBytes,
      flushIntervalMs: config.elasticsearch.flushIntervalMs,
      ...options.shipper,
      report,
    });
  }

  const destinations = shipper ? [...local, shipper] : local;
  const logger = redactChildBindings(
    pino(loggerOptions, destinations.length === 1 ? destinations[0]! : pino.multistream(destinations.map(allLevels))),
  );

  return {
    logger,
    accessLine: ecsAccessWriter(logger, destinations),
    ...(shipper ? { shipper } : {}),
    countInto: (metrics) => shipper?.attachCounters(shipperCounters(metrics)),
    flush: async (timeoutMs = 10_000) => {
      await shipper?.flush(timeoutMs);
    },
    close: async (timeoutMs = 10_000) => {
      await shipper?.close(timeoutMs);
      if (file) await file.close(timeoutMs);
      const flushSync = (stdout as { flushSync?: () => void }).flushSync;
      try {
        flushSync?.call(stdout);
      } catch {
        // Not yet open (nothing written) or already closed: nothing to flush.
      }
    },
  };
}

/**
 * pino skips `formatters.bindings` for `child()` bindings (it serializes them once, at creation), so they are
 * redacted on the way in. Children inherit `child` from the root through their prototype chain.
 */
function redactChildBindings(logger: Logger): Logger {
  // Through `unknown`: pino's generic `child` signature does not compare with a plain function type.
  const child = logger.child as unknown as (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  logger.child = function (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) {
    return child.call(this, redactSecrets(bindings), options);
  } as unknown as Logger['child'];
  return logger;
}
