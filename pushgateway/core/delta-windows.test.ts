import { describe, expect, it } from 'vitest';
import { DeltaWindows, judgeWindow, StreamDigests, streamDigest } from './delta-windows.js';

const w = (startNs: number, endNs: number) => ({ startNs: BigInt(startNs), endNs: BigInt(endNs) });

describe('delta windows', () => {
  it('applies the first and every later window, replays the same one, refuses overlapping and earlier ones', () => {
    expect(judgeWindow(undefined, w(0, 10))).toBe('apply');
    expect(judgeWindow(w(0, 10), w(10, 20))).toBe('apply');
    expect(judgeWindow(w(0, 10), w(50, 60))).toBe('apply');
    expect(judgeWindow(w(0, 10), w(0, 10))).toBe('replay');
    expect(judgeWindow(w(0, 10), w(5, 15))).toBe('overlap');
    expect(judgeWindow(w(10, 20), w(0, 10))).toBe('overlap');
    expect(judgeWindow(w(0, 10), w(0, 20))).toBe('overlap');
  });

  it('keeps at most maxStreams, forgetting the least recently applied first, and forgets after the TTL', () => {
    const windows = new DeltaWindows(2, 1000);
    windows.record('a', w(0, 1), 0);
    windows.record('b', w(0, 1), 10);
    windows.record('a', w(1, 2), 20);
    windows.record('c', w(0, 1), 30);
    expect(windows.last('b', 30)).toBeUndefined();
    expect(windows.last('a', 30)).toEqual(w(1, 2));
    expect(windows.evictedEarly).toBe(1);
    expect(windows.last('a', 1020)).toBeUndefined();
    expect(windows.last('c', 1020)).toEqual(w(0, 1));
    const copy = new DeltaWindows(2, 1000);
    copy.import(windows.export(1020));
    expect(copy.last('c', 1020)).toEqual(w(0, 1));
  });

  it('digests any identity to 22 characters', async () => {
    const digest = await streamDigest('x'.repeat(10_000));
    expect(digest).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await streamDigest('a')).not.toBe(await streamDigest('b'));
  });

  it('caches digests up to a bound on the identities it holds, forgetting the oldest', async () => {
    const digests = new StreamDigests(10);
    expect(await digests.digest('aaaaa')).toBe(await streamDigest('aaaaa'));
    await digests.digest('bbbbb');
    await digests.digest('ccccc');
    expect(digests.size).toBe(2);
    expect(await digests.digest('ccccc')).toBe(await streamDigest('ccccc'));
    await digests.digest('x'.repeat(11));
    expect(digests.size).toBe(2);
  });
});
