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
