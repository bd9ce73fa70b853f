// `npm start` on every interface without GATEWAY_PUSH_TOKEN: the API listens everywhere, its in-process
// gateway (which would take pushes and deletes from anyone) only on loopback, and the log says why.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir, spawnLogged, waitUntil } from '../support/services/index.js';
import { listeningAddresses } from '../support/socket-table.js';

const repoRoot = join(import.meta.dirname, '../..');
const dir = makeTempDir('api-start-host');
afterAll(() => removeDir(dir));

describe('npm start listen addresses', () => {
  it('keeps the in-process gateway on 127.0.0.1 when no push token is set', async () => {
    const port = await freePort();
    const gatewayPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      GATEWAY_PORT: String(gatewayPort),
      HOST: '0.0.0.0',
      PGLITE_DIR: 'memory://',
      LOG_LEVEL: 'info',
    };
    for (const variable of [
      'DATABASE_URL',
      'UPSTASH_REDIS_REST_URL',
      'UPSTASH_REDIS_REST_TOKEN',
      'PUSHGATEWAY_URL',
      'ELASTICSEARCH_URL',
      'LOG_FILE',
      'GATEWAY_HOST',
      'GATEWAY_PUSH_TOKEN',
    ]) {
      delete env[variable];
    }
    const proc = spawnLogged('npm-start-host', 'npm', ['start', '--silent'], dir, { cwd: repoRoot, env });
    try {
      await waitUntil(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`npm start exited early:\n${proc.logTail()}`);
          return (await fetch(`http://127.0.0.1:${port}/livez`, { signal: AbortSignal.timeout(2_000) })).ok;
        },
        { timeoutMs: 300_000, intervalMs: 250, what: 'npm start' },
      );
      expect(listeningAddresses(gatewayPort)).toEqual(['0100007F']);
      expect(listeningAddresses(port).some((address) => /^0+$/.test(address))).toBe(true);
      expect(proc.logTail(50)).toContain(
        `gateway started in this process on 127.0.0.1:${gatewayPort}, loopback only as GATEWAY_PUSH_TOKEN is not set`,
      );
    } finally {
      await proc.stop('SIGTERM');
    }
  }, 360_000);
});
