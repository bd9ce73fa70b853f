// The direct ECS writer must write what pino + @elastic/ecs-pino-format write for the same access record:
// the same bytes, so Kibana, the index template and every query see no difference.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AccessRecord, isoTimestamp, pinoAccessWriter } from './access-line.js';
import type { LoggingConfig } from './config.js';
import { createNodeLogging } from './node.js';
import { createWorkerLogging } from './worker.js';

const config: LoggingConfig = { level: 'info', serviceName: 'api', serviceVersion: '1.2.3', environment: 'test' };

function both(record: AccessRecord, logging: LoggingConfig = config): { direct: string[]; viaPino: string[] } {
  const direct: string[] = [];
  const viaPino: string[] = [];
  const ours = createNodeLogging(logging, { stdout: { write: (line: string) => void direct.push(line) } });
  const reference = createNodeLogging(logging, { stdout: { write: (line: string) => void viaPino.push(line) } });
  ours.accessLine(record);
  pinoAccessWriter(reference.logger)(record);
  return { direct, viaPino };
}

const base: AccessRecord = {
  start: 1000,
  end: 1000.123456,
  method: 'GET',
  path: '/api/users/42',
  route: '/api/users/:id',
  status: 200,
  requestId: 'f3b1c2d4-0000-4000-8000-000000000000',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  userId: '42',
  userAgent: 'curl/8.5.0',
  error: undefined,
};

class DatabaseError extends Error {
  password = 'hunter2';
}

const cases: Array<[string, AccessRecord]> = [
  ['a success with every optional field', base],
  ['no optional field', { ...base, requestId: undefined, traceId: undefined, userId: undefined, userAgent: undefined }],
  ['a 404 of an unmatched path', { ...base, status: 404, route: '/*', path: '/nope', userId: undefined }],
  ['a 500 with an Error subclass (own secret-named property)', { ...base, status: 500, error: new DatabaseError('database exploded') }],
  ['a 500 with a thrown string', { ...base, status: 500, error: 'plain string thrown' }],
  ['a 4xx carrying the handled error', { ...base, status: 418, error: new TypeError('short and stout') }],
  [
    'values that need escaping',
    {
      ...base,
      path: '/api/"quoted"\\path/ü/\u2028',
      userAgent: 'Mozilla/5.0 "x" \t\n\u0001 token=abc password=secret ✓ 𝄞',
      userId: 'ü"',
    },
  ],
  ['a long user agent', { ...base, userAgent: 'x'.repeat(5000) }],
  ['a custom method', { ...base, method: 'PROPFIND' }],
];

describe('ecsAccessWriter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-03T19:15:51.007Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('writes the bytes pino + ecs-pino-format write: %s', (_name, record) => {
    const { direct, viaPino } = both(record);
    expect(viaPino).toHaveLength(1);
    // A non-Error throw becomes an Error in each writer, so the stacks name different frames; all else is equal.
    const sameStack = (lines: string[]) =>
      record.error === undefined || record.error instanceof Error
        ? lines
        : lines.map((line) => line.replace(/"stack_trace":"[^"]*"/, '"stack_trace":""'));
    expect(sameStack(direct)).toEqual(sameStack(viaPino));
    // Content, not only bytes: the error is an ECS `error` object, the ECS fields are all there.
    const line = JSON.parse(direct[0]!) as Record<string, unknown>;
    expect(line['@timestamp']).toBe('2026-12-03T19:15:51.007Z');
    expect(line['event.duration']).toBe(123456);
    if (record.error !== undefined)
      expect((line.error as { message: string }).message).toContain(String(record.error).replace(/^\w*Error: /, ''));
  });

  it('matches without service version or environment, and at a level that drops info', () => {
    const minimal: LoggingConfig = { level: 'info', serviceName: 'other' };
    const { direct, viaPino } = both(base, minimal);
    expect(direct).toEqual(viaPino);
    const quiet = both(base, { level: 'error', serviceName: 'api' });
    expect(quiet.viaPino).toEqual([]);
    expect(quiet.direct).toEqual([]);
    const failure = both({ ...base, status: 503 }, { level: 'error', serviceName: 'api' });
    expect(failure.direct).toEqual(failure.viaPino);
    expect(failure.direct).toHaveLength(1);
  });

  it('matches at every millisecond of a second (cached date part)', () => {
    for (const ms of [0, 9, 10, 99, 100, 999]) {
      vi.setSystemTime(new Date(Date.UTC(2026, 11, 31, 23, 59, 59, ms)));
      const { direct, viaPino } = both(base);
      expect(direct).toEqual(viaPino);
    }
  });
});

describe('workerEcsAccessWriter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-03T19:15:51.007Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function workerBoth(record: AccessRecord, logging: LoggingConfig = config): { direct: string[]; viaPino: string[] } {
    const direct: string[] = [];
    const viaPino: string[] = [];
    createWorkerLogging(logging, { console: (line) => direct.push(line) }).accessLine(record);
    pinoAccessWriter(createWorkerLogging(logging, { console: (line) => viaPino.push(line) }).logger)(record);
    return { direct, viaPino };
  }

  it.each(cases)('writes the bytes the Workers logger writes: %s', (_name, record) => {
    const { direct, viaPino } = workerBoth(record);
    expect(viaPino).toHaveLength(1);
    const sameStack = (lines: string[]) =>
      record.error === undefined || record.error instanceof Error
        ? lines
        : lines.map((line) => line.replace(/"stack_trace":"[^"]*"/, '"stack_trace":""'));
    expect(sameStack(direct)).toEqual(sameStack(viaPino));
  });

  it('matches without service version or environment, and at a level that drops info', () => {
    expect(workerBoth(base, { level: 'info', serviceName: 'other' }).direct).toEqual(
      workerBoth(base, { level: 'info', serviceName: 'other' }).viaPino,
    );
    const quiet = workerBoth(base, { level: 'error', serviceName: 'api' });
    expect(quiet).toEqual({ direct: [], viaPino: [] });
    const failure = workerBoth({ ...base, status: 503 }, { level: 'error', serviceName: 'api' });
    expect(failure.direct).toEqual(failure.viaPino);
    expect(failure.direct).toHaveLength(1);
  });
});

describe('isoTimestamp', () => {
  it('is toISOString across second, day and year boundaries', () => {
    const start = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    for (let ms = start; ms < start + 2_100; ms += 7) expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
    expect(isoTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
