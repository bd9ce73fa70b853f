// The access line of one request: what the observe middleware knows about a finished request, and the ways to
// write it. `pinoAccessWriter` hands the fields to a pino logger (tests, any logger); `ecsAccessWriter` writes
// the same ECS JSON straight into the Node logger's destinations, skipping pino's per-line formatter pipeline
// (ecs-pino-format builds an ISO timestamp and copies the object on every line), which costs more than the
// request itself on a route like /livez; `workerEcsAccessWriter` does the same for the Workers logger's line.
// access-line.test.ts checks that each writes the bytes its logger writes.
import { type Logger, symbols } from 'pino';
import { ecsError, type ServiceFields, staticEcsFields } from './ecs.js';

export interface AccessRecord {
  /** performance.now() when the request arrived, and when its response was ready. */
  start: number;
  end: number;
  method: string;
  path: string;
  route: string;
  status: number;
  requestId: string | undefined;
  traceId: string | undefined;
  userId: string | undefined;
  userAgent: string | undefined;
  error: unknown;
}

export type AccessLineWriter = (record: AccessRecord) => void;

function durationNs(record: AccessRecord): number {
  return Math.round((record.end - record.start) * 1e6);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The fields and message pino gets for an access line; the ECS writer writes the same, in the same order. */
export function accessFields(record: AccessRecord): { fields: Record<string, unknown>; message: string } {
  const fields: Record<string, unknown> = {
    'event.kind': 'event',
    'event.category': 'web',
    'event.outcome': record.status >= 500 ? 'failure' : 'success',
    'event.duration': durationNs(record),
    'http.request.method': record.method,
    'url.path': record.path,
    'http.route': record.route,
    'http.response.status_code': record.status,
  };
  if (record.requestId) fields['http.request.id'] = record.requestId;
  if (record.traceId) fields['trace.id'] = record.traceId;
  if (record.userId) fields['user.id'] = record.userId;
  if (record.userAgent) fields['user_agent.original'] = record.userAgent;
  if (record.error !== undefined) fields.err = asError(record.error);
  return { fields, message: `${record.method} ${record.path} ${record.status}` };
}

/** Through the logger's own pipeline: formatters, redaction, serializers. */
export function pinoAccessWriter(logger: Logger): AccessLineWriter {
  return (record) => {
    const { fields, message } = accessFields(record);
    logger[record.status >= 500 ? 'error' : 'info'](fields, message);
  };
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `Date#toISOString()` of `ms`, formatting the date part once per second. */
export function isoTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    // 'YYYY-MM-DDTHH:MM:SS.' (years 0–9999, which toISOString writes with four digits)
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const milli = ms - second * 1000;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

interface LineSink {
  write(line: string): unknown;
}

const str = JSON.stringify;
const infoLevel = 30;
const errorLevel = 50;

/**
 * Writes the line pino + ecs-pino-format would write for `logger[level](accessFields(record))`, built
 * directly: the level prefix and the logger's bindings (pid, host, service, ECS version) are the strings pino
 * itself cached; the fields are fixed names with string and number values, so redaction (key-based) and ECS
 * conflict handling have nothing to change in them, and the error becomes `error` as ecs-helpers does it.
 */
export function ecsAccessWriter(logger: Logger, sinks: readonly LineSink[]): AccessLineWriter {
  const levelPrefix = (logger as unknown as Record<symbol, Record<number, string>>)[symbols.lsCacheSym]!;
  const bindings = (logger as unknown as Record<symbol, string>)[symbols.chindingsSym]!;
  return (record) => {
    const level = record.status >= 500 ? errorLevel : infoLevel;
    if (logger.levelVal > level) return;
    const line = `${levelPrefix[level]},"@timestamp":"${isoTimestamp(Date.now())}"${bindings},${requestFields(record, level === errorLevel)}}\n`;
    for (const sink of sinks) sink.write(line);
  };
}

/**
 * Builds the line the Workers logger (pino's browser build, `ecsRecord`, `JSON.stringify`) writes for
 * `logger[level](accessFields(record))`, without the object copies and the redaction walk: the fields are fixed
 * names with string and number values. `write` gets the line (no newline) and its level label.
 */
export function workerEcsAccessWriter(
  service: ServiceFields,
  enabled: ReadonlySet<string>,
  write: (line: string, level: 'info' | 'error') => void,
): AccessLineWriter {
  const serviceFields = str(staticEcsFields(service)).slice(1, -1);
  return (record) => {
    const level = record.status >= 500 ? 'error' : 'info';
    if (!enabled.has(level)) return;
    write(
      `{"log.level":"${level}","@timestamp":"${isoTimestamp(Date.now())}",${serviceFields},${requestFields(record, level === 'error')}}`,
      level,
    );
  };
}

/** The request's ECS fields, from `event.kind` to `message`, in the order both runtimes' loggers write them. */
function requestFields(record: AccessRecord, failure: boolean): string {
  let fields = `"event.kind":"event","event.category":"web","event.outcome":"${failure ? 'failure' : 'success'}","event.duration":${durationNs(
    record,
  )},"http.request.method":${str(record.method)},"url.path":${str(record.path)},"http.route":${str(record.route)},"http.response.status_code":${record.status}`;
  if (record.requestId) fields += `,"http.request.id":${str(record.requestId)}`;
  if (record.traceId) fields += `,"trace.id":${str(record.traceId)}`;
  if (record.userId) fields += `,"user.id":${str(record.userId)}`;
  if (record.userAgent) fields += `,"user_agent.original":${str(record.userAgent)}`;
  if (record.error !== undefined) fields += `,"error":${str(ecsError(asError(record.error)))}`;
  return `${fields},"message":${str(`${record.method} ${record.path} ${record.status}`)}`;
}
