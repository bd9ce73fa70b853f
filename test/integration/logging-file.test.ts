// LOG_FILE: ECS lines written by pino-roll in pino's transport worker, rotated by size with a kept count
// (RotatingFileHandler(maxBytes, backupCount)), secrets redacted like every other destination.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../api/config.js';
import { createNodeLogging } from '../../api/logging/node.js';
import { makeTempDir, removeDir } from '../support/services/process.js';

describe('file logs (LOG_FILE)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) removeDir(dir);
  });

  it('rotates by size, keeps LOG_FILE_BACKUPS old files, and writes whole ECS lines without secrets', async () => {
    const dir = makeTempDir('logging-file');
    dirs.push(dir);
    const maxBytes = 4096;
    const config = loadConfig({ LOG_FILE: join(dir, 'logs', 'api.log'), LOG_FILE_MAX_BYTES: String(maxBytes), LOG_FILE_BACKUPS: '2' });
    const { logger, close } = createNodeLogging(config.logging, { stdout: { write: () => {} } });
    const total = 300;
    // Lines in small bursts, as a server writes them: pino-roll checks the size after each write of its worker.
    for (let n = 0; n < total; n++) {
      logger.info({ 'event.sequence': n, password: `SECRET-${n}` }, `line ${n}`);
      if (n % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await close(10_000);

    const files = readdirSync(join(dir, 'logs'))
      .filter((name) => name.endsWith('.log'))
      .sort((a, b) => number(a) - number(b));
    // 300 lines of ~250 bytes is ~18 files' worth: only the current one and two backups are kept.
    expect(files).toHaveLength(3);
    expect(files.every((name) => /^api\.\d+\.log$/.test(name))).toBe(true);
    const sequences: number[] = [];
    for (const file of files) {
      const text = readFileSync(join(dir, 'logs', file), 'utf8');
      expect(text).not.toContain('SECRET-');
      // Rotation happens between writes: a file may pass the limit by at most one write, never by a file.
      expect(statSync(join(dir, 'logs', file)).size).toBeLessThan(maxBytes * 2);
      // The current file may be empty: pino-roll opens the next one right after the write that filled the last.
      for (const line of text.split('\n').filter(Boolean)) {
        const record = JSON.parse(line) as Record<string, unknown>;
        expect(record).toMatchObject({ 'log.level': 'info', 'service.name': 'api', password: '[Redacted]' });
        sequences.push(record['event.sequence'] as number);
      }
    }
    // The newest lines survive, contiguous and in order, up to the very last one.
    expect(sequences.at(-1)).toBe(total - 1);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, index) => total - sequences.length + index));
  });

  it('keeps logging to stdout and says why on stderr when the file cannot be opened', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const originalWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      const dir = makeTempDir('logging-file');
      dirs.push(dir);
      // The "directory" is a regular file: mkdir fails with EEXIST / open with ENOTDIR.
      writeFileSync(join(dir, 'not-a-dir'), '');
      const config = loadConfig({ LOG_FILE: join(dir, 'not-a-dir', 'api.log') });
      const { logger, close } = createNodeLogging(config.logging, { stdout: { write: (chunk: string) => void stdout.push(chunk) } });
      logger.info('still here');
      await expect.poll(() => stderr.join(''), { timeout: 5_000 }).toContain('LOG_FILE');
      await close(5_000);
    } finally {
      process.stderr.write = originalWrite;
    }
    expect(stdout.join('')).toContain('still here');
    expect(stderr.join('')).toMatch(/LOG_FILE .*not-a-dir\/api\.log: E(EXIST|NOTDIR)/);
  });

  it('writes nothing to a file when LOG_FILE is unset', () => {
    expect(loadConfig({}).logging.file).toBeUndefined();
  });
});

function number(name: string): number {
  return Number(/\.(\d+)\.log$/.exec(name)?.[1] ?? 0);
}
