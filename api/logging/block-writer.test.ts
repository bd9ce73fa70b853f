import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir, removeDir } from '../../test/support/services/process.js';
import { BlockWriter } from './block-writer.js';

describe('BlockWriter', () => {
  let dir: string;
  let path: string;
  const read = () => readFileSync(path, 'utf8');

  beforeEach(() => {
    dir = makeTempDir('block-writer');
    path = join(dir, 'out.log');
  });
  afterEach(() => removeDir(dir));

  it('holds lines until the block is full, then writes them in one piece, in order', () => {
    const writer = new BlockWriter(path, { blockBytes: 100, flushIntervalMs: 60_000 });
    writer.write(`${'a'.repeat(39)}\n`);
    writer.write(`${'b'.repeat(39)}\n`);
    expect(read()).toBe('');
    writer.write(`${'c'.repeat(39)}\n`);
    expect(read()).toBe(`${'a'.repeat(39)}\n${'b'.repeat(39)}\n`);
    writer.close();
    expect(read().split('\n').map((line) => line[0])).toEqual(['a', 'b', 'c', undefined]);
  });

  it('writes what it holds once the flush interval has passed', async () => {
    const writer = new BlockWriter(path, { flushIntervalMs: 20 });
    writer.write('one\n');
    expect(read()).toBe('');
    await vi.waitFor(() => expect(read()).toBe('one\n'), { timeout: 5_000 });
    writer.close();
  });

  it('encodes UTF-8 exactly, a line larger than the block included', () => {
    const writer = new BlockWriter(path, { blockBytes: 64, flushIntervalMs: 60_000 });
    const long = `${'é€😀'.repeat(40)}\n`;
    writer.write('grüße\n');
    writer.write(long);
    writer.write('日本\n');
    writer.close();
    expect(read()).toBe(`grüße\n${long}日本\n`);
  });

  it('writes what it holds when the process exits, process.exit() included', () => {
    const script = `
      import { BlockWriter } from ${JSON.stringify(join(import.meta.dirname, 'block-writer.ts'))};
      const writer = new BlockWriter(${JSON.stringify(path)}, { flushIntervalMs: 60_000 });
      writer.write('before exit\\n');
      process.exit(3);`;
    const result = spawnSync(join('node_modules', '.bin', 'tsx'), ['--eval', script], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(3);
    expect(read()).toBe('before exit\n');
  });

  it('reports a failed write once and drops later lines instead of throwing', () => {
    writeFileSync(path, '');
    const fd = openSync(path, 'r');
    const errors: string[] = [];
    const writer = new BlockWriter(fd, { blockBytes: 64, onError: (error) => errors.push((error as NodeJS.ErrnoException).code ?? '') });
    for (let index = 0; index < 10; index++) writer.write(`${'x'.repeat(40)}\n`);
    writer.flushSync();
    expect(errors).toEqual(['EBADF']);
    expect(writer.dropped).toBeGreaterThan(0);
    closeSync(fd);
  });

  it('keeps what a full non-blocking pipe did not take, drops what no longer fits, and says so once', async () => {
    // A child that never reads: its stdin is a non-blocking pipe (libuv) that fills up at the kernel's pipe size.
    const sink = spawn('sleep', ['30'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const fd = (sink.stdin as unknown as { _handle: { fd: number } })._handle.fd;
      const errors: string[] = [];
      const writer = new BlockWriter(fd, { blockBytes: 4096, flushIntervalMs: 60_000, onError: (error) => errors.push(error.message) });
      const line = `${'y'.repeat(99)}\n`;
      for (let index = 0; index < 20_000; index++) writer.write(line);
      expect(writer.dropped).toBeGreaterThan(0);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/EAGAIN/);
    } finally {
      sink.kill('SIGKILL');
    }
  });
});
