// The two loggers (Node: pino + ecs-pino-format; Workers: pino's browser build) write the same ECS JSON,
// with secrets redacted, for the same calls.

import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LoggingConfig } from './config.js';
import { createNodeLogging } from './node.js';
import { createWorkerLogging } from './worker.js';

const config: LoggingConfig = { level: 'debug', serviceName: 'api', serviceVersion: '1.2.3', environment: 'test' };

function nodeLines(run: (logger: Logger) => void): Record<string, unknown>[] {
  const chunks: string[] = [];
  const { logger } = createNodeLogging(config, { stdout: { write: (chunk: string) => void chunks.push(chunk) } });
  run(logger);
  return chunks
    .join('')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

function workerLines(run: (logger: Logger) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const { logger } = createWorkerLogging(config, { console: (line) => lines.push(line) });
  run(logger);
  return lines.map((line) => JSON.parse(line));
}

/** Fields that differ by nature: time, and the host/process only Node has. */
function comparable(record: Record<string, unknown>): Record<string, unknown> {
  const { '@timestamp': _timestamp, 'process.pid': _pid, 'host.hostname': _host, ...rest } = record;
  const error = rest.error as { stack_trace?: string } | undefined;
  if (error?.stack_trace) rest.error = { ...error, stack_trace: error.stack_trace.split('\n')[0] };
  return rest;
}

const sharedError = new TypeError('kaputt');
const calls: Array<[string, (logger: Logger) => void]> = [
  ['a message', (logger) => logger.info('hello')],
  ['fields and a format string', (logger) => logger.warn({ 'user.id': '42', count: 3 }, 'saw %s', 'it')],
  ['an error as first argument', (logger) => logger.error(sharedError)],
  ['an error under err with a message', (logger) => logger.error({ err: sharedError, 'trace.id': 't1' }, 'failed')],
  ['a child with bindings', (logger) => logger.child({ 'trace.id': 'abc' }).info({ 'http.response.status_code': 200 }, 'done')],
  [
    'secrets in fields and bindings',
    (logger) => logger.child({ token: 'T0KEN' }).info({ headers: { authorization: 'Bearer X', cookie: 'c=1' }, password: 'pw' }, 'login'),
  ],
  ['a plain value under an ECS object field', (logger) => logger.info({ url: 'http://localhost:3000', error: 'oops' }, 'listening')],
  ['a debug line', (logger) => logger.debug('details')],
];

describe('Node logger', () => {
  it('writes ECS lines: @timestamp, log.level, message, service.*, event.dataset, ecs.version, process and host', () => {
    const [line] = nodeLines((logger) => logger.info('hello'));
    expect(line).toMatchObject({
      'log.level': 'info',
      message: 'hello',
      'service.name': 'api',
      'service.version': '1.2.3',
      'service.environment': 'test',
      'event.dataset': 'api',
      'ecs.version': '8.10.0',
      'process.pid': process.pid,
    });
    expect(new Date(line!['@timestamp'] as string).toISOString()).toBe(line!['@timestamp']);
    expect(typeof line!['host.hostname']).toBe('string');
  });

  it('writes error.type, error.message and error.stack_trace for an error', () => {
    const [line] = nodeLines((logger) => logger.error({ err: new RangeError('out of range') }, 'failed'));
    expect(line!.error).toEqual({
      type: 'RangeError',
      message: 'out of range',
      stack_trace: expect.stringContaining('RangeError: out of range'),
    });
  });

  it('redacts secrets in fields, in child bindings and in grandchild bindings', () => {
    const output = JSON.stringify(
      nodeLines((logger) => {
        logger.info({ req: { headers: { Authorization: 'Bearer SECRET1', Cookie: 'SECRET2' } }, db: { password: 'SECRET3' } }, 'x');
        logger
          .child({ apiKey: 'SECRET4' })
          .child({ session_id: 'SECRET5' })
          .info({ nested: [{ refresh_token: 'SECRET6' }] }, 'y');
      }),
    );
    expect(output).not.toMatch(/SECRET\d/);
    expect(output.match(/\[Redacted\]/g)).toHaveLength(6);
  });

  it('honours the level', () => {
    const chunks: string[] = [];
    const { logger } = createNodeLogging({ ...config, level: 'warn' }, { stdout: { write: (chunk: string) => void chunks.push(chunk) } });
    logger.info('hidden');
    logger.warn('shown');
    expect(chunks.join('')).not.toContain('hidden');
    expect(chunks.join('')).toContain('shown');
  });
});

describe('Workers logger (pino browser build)', () => {
  it.each(calls)('writes the same JSON as the Node logger for %s', (_name, run) => {
    const node = nodeLines(run).map(comparable);
    const worker = workerLines(run).map(comparable);
    expect(worker).toEqual(node);
    expect(worker.length).toBe(1);
  });

  it('keeps the same field order as the Node logger', () => {
    const run = (logger: Logger) => logger.child({ 'trace.id': 'abc' }).warn({ 'user.id': '1' }, 'ordered');
    expect(Object.keys(comparable(workerLines(run)[0]!))).toEqual(Object.keys(comparable(nodeLines(run)[0]!)));
  });

  it('does not fail the caller on a cyclic field', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const [line] = workerLines((logger) => logger.info({ cyclic }, 'cyclic'));
    expect(line).toMatchObject({ 'log.level': 'info', message: 'cyclic', 'error.message': expect.stringContaining('not serializable') });
  });

  it('prints only warnings and worse to the console while shipping, and ships every line', () => {
    const printed: string[] = [];
    const shipping: LoggingConfig = {
      ...config,
      elasticsearch: {
        url: 'http://es.invalid',
        dataStream: 'logs-api-default',
        maxBufferBytes: 65536,
        maxBatchBytes: 4096,
        flushIntervalMs: 1000,
      },
    };
    const { logger, shipper } = createWorkerLogging(shipping, { console: (line) => printed.push(line) });
    logger.info('served');
    logger.warn('slow');
    expect(printed.map((line) => JSON.parse(line).message)).toEqual(['slow']);
    expect(shipper!.stats().queuedLines).toBe(2);

    const everything: string[] = [];
    createWorkerLogging({ ...shipping, consoleLevel: 'info' }, { console: (line) => everything.push(line) }).logger.info('served');
    expect(everything).toHaveLength(1);
  });
});
