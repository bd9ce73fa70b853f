// The committed migrations match drizzle/schema.ts: drizzle-kit, run on a copy of them, finds nothing to
// generate. Fails when someone edits the schema and forgets `npm run db:generate`.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..');
const copy = mkdtempSync(join(tmpdir(), 'migrations-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('drizzle migrations', () => {
  it('are up to date with the schema', async () => {
    cpSync(join(repoRoot, 'drizzle/migrations'), copy, { recursive: true });
    const before = readdirSync(copy).sort();
    // drizzle-kit resolves --out relative to the working directory.
    const { stdout } = await promisify(execFile)(
      join(repoRoot, 'node_modules/.bin/drizzle-kit'),
      ['generate', '--dialect', 'postgresql', '--schema', './drizzle/schema.ts', '--out', relative(repoRoot, copy)],
      { cwd: repoRoot, timeout: 120_000 },
    );
    expect(stdout).toContain('No schema changes');
    expect(readdirSync(copy).sort()).toEqual(before);
  });
});
