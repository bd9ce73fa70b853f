import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './static-checks.js';

/** Runs deploy.sh with a PATH of only the tools it needs besides Docker. */
const toolsOnly = mkdtempSync(join(tmpdir(), 'deploy-path-'));
for (const tool of ['bash', 'dirname', 'sed', 'cat', 'tr', 'od', 'mkdir', 'chmod']) symlinkSync(`/usr/bin/${tool}`, join(toolsOnly, tool));
afterAll(() => rmSync(toolsOnly, { recursive: true, force: true }));

function deploy(args: string[], script = join(repoRoot, 'deploy.sh')): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/bash', [script, ...args], { env: { PATH: toolsOnly }, timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('deploy.sh', () => {
  it.each(['deploy', 'deploy-monitoring', 'deploy-logging', 'status', 'logs'])(
    '%s fails clearly when Docker is missing',
    async (command) => {
      const result = await deploy([command]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Docker is not installed (no 'docker' command)");
    },
  );

  it('rejects an unknown command with the usage', async () => {
    const result = await deploy(['launch']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown command 'launch'");
    expect(result.stderr).toContain('./deploy.sh deploy-monitoring');
  });

  it('init-secrets writes consistent internal secrets, keeps existing ones and names the outside ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-secrets-'));
    try {
      copyFileSync(join(repoRoot, 'deploy.sh'), join(dir, 'deploy.sh'));
      const first = await deploy(['init-secrets'], join(dir, 'deploy.sh'));
      expect(first.code, first.stderr).toBe(0);
      const read = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8').trim();
      const env = (name: string) =>
        Object.fromEntries(
          read(name)
            .split('\n')
            .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
        );
      const postgresPassword = read('postgres_password');
      expect(postgresPassword).toMatch(/^[0-9a-f]{48}$/);
      expect(env('api.env').DATABASE_URL).toBe(`postgres://app:${postgresPassword}@postgres:5432/app`);
      expect(env('api.env').UPSTASH_REDIS_REST_TOKEN).toBe(env('redis-http.env').SRH_TOKEN);
      expect(env('api.env').PUSHGATEWAY_TOKEN).toBe(env('gateway.env').GATEWAY_PUSH_TOKEN);
      expect(env('gateway.env').GATEWAY_SCRAPE_PASSWORD).toBe(read('gateway_scrape_password'));
      expect(env('kibana.env').ELASTICSEARCH_PASSWORD).toBe(read('kibana_system_password'));
      expect(env('api.env').ELASTICSEARCH_PASSWORD).toBe(read('logs_writer_password'));
      expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, 'secrets', 'api.env')).mode & 0o777).toBe(0o600);
      for (const outside of ['smtp_password', 'slack_webhook_url', 'incident_webhook_token'])
        expect(first.stdout).toContain(`to write secrets/${outside}`);

      const second = await deploy(['init-secrets'], join(dir, 'deploy.sh'));
      expect(second.stdout).not.toContain('created');
      expect(read('postgres_password')).toBe(postgresPassword);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
