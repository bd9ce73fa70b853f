// Real VictoriaMetrics (Debian `victoria-metrics`) on a loopback port: a remote-write receiver at
// /api/v1/write with PromQL at /api/v1/query.
import { freePort, httpOk, makeTempDir, requireBinary, serviceWhenReady, spawnLogged, type RunningService } from './process.js';

export interface VictoriaMetricsOptions {
  /** Reuse a port and a data directory (to restart "the same" receiver); the caller then removes the dir. */
  port?: number;
  storageDir?: string;
}

export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<RunningService> {
  const binary = requireBinary(['/usr/bin/victoria-metrics'], 'victoria-metrics');
  const dir = makeTempDir('victoria-metrics');
  const port = options.port ?? (await freePort());
  const storage = options.storageDir ?? dir;
  const args = [
    `-storageDataPath=${storage}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    // Queries see samples as soon as they are written (the default hides the last 30 s).
    '-search.latencyOffset=0s',
    '-search.disableCache',
  ];
  const proc = spawnLogged('victoria-metrics', binary, args, dir);
  const url = `http://127.0.0.1:${port}`;
  return serviceWhenReady(proc, { url, port, dir, what: 'VictoriaMetrics' }, () => httpOk(`${url}/health`));
}
