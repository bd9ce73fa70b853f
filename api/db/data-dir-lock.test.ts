import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('lockDataDir', () => {
  it('admits one holder at a time, naming the holder to the next one', () => {
    const dir = tempDir();
    const release = lockDataDir(dir);
    expect(readFileSync(join(dir, '.api.lock'), 'utf8')).toBe(String(process.pid));
    expect(() => lockDataDir(dir)).toThrow(`PGLITE_DIR ${dir} is in use by process ${process.pid}`);
    release();
    expect(existsSync(join(dir, '.api.lock'))).toBe(false);
    lockDataDir(dir)();
  });

  it('takes over a lock whose process is gone', () => {
    const dir = tempDir();
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(join(dir, '.api.lock'), exited.stdout.toString());
    const release = lockDataDir(dir);
    expect(readFileSync(join(dir, '.api.lock'), 'utf8')).toBe(String(process.pid));
    release();
  });
});
