import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, sqlState } from './errors.js';

const wrapped = (cause: object) => Object.assign(new Error('Failed query: select 1'), { cause });

describe('database error classification', () => {
  it('finds the SQLSTATE under Drizzle’s wrapper', () => {
    expect(sqlState(wrapped({ code: '23505', message: 'duplicate key' }))).toBe('23505');
    expect(sqlState(wrapped({ code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(sqlState(new Error('plain'))).toBeUndefined();
  });

  it('calls unreachable or refusing databases unavailable, and nothing else', () => {
    for (const cause of [
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      { code: 'CONNECT_TIMEOUT', message: 'write CONNECT_TIMEOUT' },
      { code: '57P01', message: 'terminating connection due to administrator command' },
      { code: '08006', message: 'connection failure' },
      { code: '53300', message: 'too many connections' },
      { message: 'proxy request failed, cannot connect to the specified address' },
      { message: 'Network connection lost.' },
    ]) {
      expect(isDatabaseUnavailable(wrapped(cause)), JSON.stringify(cause)).toBe(true);
    }
    for (const cause of [
      { code: '23505', message: 'duplicate key value violates unique constraint' },
      { code: '42P01', message: 'relation "users" does not exist' },
      { code: '22P02', message: 'invalid input syntax; connection refused in a literal' },
      { message: 'Cannot read properties of undefined' },
    ]) {
      expect(isDatabaseUnavailable(wrapped(cause)), JSON.stringify(cause)).toBe(false);
    }
  });
});
