// `npm run gateway` binds the interface GATEWAY_HOST names, and refuses one it cannot bind with a message
// naming the variable. Read from the kernel's socket table, so the test sees what really listens.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../support/gateway-processes.js';
import { makeTempDir, removeDir } from '../support/services/index.js';
import { listeningAddresses } from '../support/socket-table.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = makeTempDir('gateway-host');
afterAll(() => removeDir(dir));

describe('gateway listen address', () => {
  it('listens on 127.0.0.1 only when GATEWAY_HOST=127.0.0.1', async () => {
    const gateway = await startGatewayProcess('host', dir, {});
    try {
      expect(listeningAddresses(gateway.port)).toEqual(['0100007F']);
    } finally {
      await gateway.stop('SIGTERM');
    }
  });

  it('writes its log lines in ECS JSON, the format of the API', async () => {
    const gateway = await startGatewayProcess('ecs', dir, {});
    await gateway.stop('SIGTERM');
    const lines = gateway.process
      .logTail(50)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('GATEWAY_PUSH_TOKEN is not set'), 'gateway listening', 'gateway stopped']),
    );
    for (const line of lines) {
      expect(line).toMatchObject({ 'ecs.version': expect.any(String), 'service.name': 'pushgateway', 'process.pid': expect.any(Number) });
      expect(['info', 'warn']).toContain(line['log.level']);
      expect(Number.isNaN(Date.parse(line['@timestamp'] as string))).toBe(false);
      expect(line).not.toHaveProperty('level');
    }
  });

  it('exits 1 naming GATEWAY_HOST when that interface cannot be bound', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'pushgateway/node.ts')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GATEWAY_HOST: '192.0.2.1', GATEWAY_PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr + result.stdout).toContain('cannot listen on GATEWAY_HOST 192.0.2.1: EADDRNOTAVAIL');
  });
});
