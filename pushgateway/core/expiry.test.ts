import { describe, expect, it } from 'vitest';
import { ExpiryQueue } from './expiry.js';

describe('ExpiryQueue', () => {
  it('expires keys not touched for the lifetime, oldest first, and keeps touched ones', () => {
    const queue = new ExpiryQueue<string>(1_000);
    queue.touch('a', 0);
    queue.touch('b', 100);
    queue.touch('c', 200);
    queue.touch('a', 900); // a is young again
    expect(queue.popExpired(1_099)).toEqual([]);
    expect(queue.popExpired(1_100)).toEqual(['b']);
    expect(queue.popExpired(1_900)).toEqual(['c', 'a']);
    expect(queue.size).toBe(0);
  });

  it('reports liveness at a given time', () => {
    const queue = new ExpiryQueue<string>(50);
    queue.touch('k', 10);
    expect(queue.isLive('k', 59)).toBe(true);
    expect(queue.isLive('k', 60)).toBe(false);
    expect(queue.isLive('other', 10)).toBe(false);
  });

  it('never expires with a lifetime of 0', () => {
    const queue = new ExpiryQueue<string>(0);
    queue.touch('k', 0);
    expect(queue.popExpired(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(queue.isLive('k', Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('stops at the first live key, so a sweep costs only what it removes', () => {
    const queue = new ExpiryQueue<number>(10);
    for (let i = 0; i < 100_000; i++) queue.touch(i, 1_000 + i);
    expect(queue.popExpired(1_012)).toEqual([0, 1, 2]);
    expect(queue.size).toBe(99_997);
  });

  it('forgets and pops the oldest on request', () => {
    const queue = new ExpiryQueue<string>(10);
    queue.touch('x', 1);
    queue.touch('y', 2);
    queue.forget('x');
    expect(queue.popOldest()).toBe('y');
    expect(queue.popOldest()).toBeUndefined();
  });
});
