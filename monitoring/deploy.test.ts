import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './checks.js';

/** Runs deploy.sh with a PATH of only the tools it needs besides Docker. */
const toolsOnly = mkdtempSync(join(tmpdir(), 'deploy-path-'));
for (const tool of ['bash', 'dirname', 'sed', 'cat', 'tr', 'od', 'mkdir', 'chmod']) symlinkSync(`/usr/bin/${tool}`, join(toolsOnly, tool));
afterAll(() => rmSync(toolsOnly, { recursive: true, force: true }));

function deploy(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/bash', [join(repoRoot, 'deploy.sh'), ...args], { env: { PATH: toolsOnly }, timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('deploy.sh', () => {
  it.each(['deploy', 'deploy-monitoring', 'deploy-logging', 'status', 'logs'])('%s fails clearly when Docker is missing', async (command) => {
    const result = await deploy([command]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Docker is not installed (no 'docker' command)");
  });

  it('rejects an unknown command with the usage', async () => {
    const result = await deploy(['launch']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown command 'launch'");
    expect(result.stderr).toContain('./deploy.sh deploy-monitoring');
  });
});
