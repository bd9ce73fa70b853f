// Helpers for tests that run the gateway as real Node processes (`pushgateway/node.ts`, as `npm run
// gateway` does), so SIGKILL/SIGTERM and several replicas behave as in production.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTextExposition } from '../../pushgateway/core/text-parser.js';
import type { MetricFamily } from '../../pushgateway/core/model.js';
import { freePort, httpOk, spawnLogged, waitUntil, type SpawnedProcess } from './services/process.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface GatewayProcess {
  url: string;
  port: number;
  process: SpawnedProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node --import tsx pushgateway/node.ts` (one process, so a signal reaches the gateway itself). */
export async function startGatewayProcess(name: string, dir: string, env: Record<string, string>, port?: number): Promise<GatewayProcess> {
  const listenPort = port ?? (await freePort());
  const child = spawnLogged(name, process.execPath, ['--import', 'tsx', resolve(repoRoot, 'pushgateway/node.ts')], dir, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'info',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(listenPort),
      ...env,
    },
  });
  const url = `http://127.0.0.1:${listenPort}`;
  try {
    await waitUntil(
      async () => {
        if (child.child.exitCode !== null) throw new Error(`exited with ${child.child.exitCode}`);
        return await httpOk(`${url}/-/ready`);
      },
      { what: `gateway ${name}`, timeoutMs: 120_000 },
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw new Error(`${String(error)}\n${child.logTail()}`);
  }
  return { url, port: listenPort, process: child, stop: (signal) => child.stop(signal) };
}

/** GET /metrics parsed into families by name. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, MetricFamily>> {
  const response = await fetch(`${url}/metrics`, { headers, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}: ${await response.text()}`);
  const { families } = parseTextExposition(await response.text());
  return new Map(families.map((family) => [family.name, family]));
}
