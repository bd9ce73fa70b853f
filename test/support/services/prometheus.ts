// Real Prometheus, the official Pushgateway and Alertmanager (Debian packages) on loopback ports.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, httpOk, makeTempDir, requireBinary, serviceWhenReady, spawnLogged, type RunningService } from './process.js';

async function startHttpService(options: {
  name: string;
  binary: string;
  debianPackage: string;
  args: (port: number, dir: string) => string[];
  readyPath: string;
  timeoutMs?: number;
}): Promise<RunningService> {
  const binary = requireBinary([options.binary], options.debianPackage);
  const dir = makeTempDir(options.name);
  const port = await freePort();
  const proc = spawnLogged(options.name, binary, options.args(port, dir), dir);
  const url = `http://127.0.0.1:${port}`;
  return serviceWhenReady(proc, { url, port, dir, what: options.name, timeoutMs: options.timeoutMs }, () =>
    httpOk(`${url}${options.readyPath}`),
  );
}

/** The official Prometheus Pushgateway 1.5 with persistence off. */
export function startOfficialPushgateway(extraArgs: string[] = []): Promise<RunningService> {
  return startHttpService({
    name: 'pushgateway',
    binary: '/usr/bin/prometheus-pushgateway',
    debianPackage: 'prometheus-pushgateway',
    args: (port) => [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', ...extraArgs],
    readyPath: '/-/ready',
  });
}

export interface PrometheusOptions {
  /** prometheus.yml content; `{{dir}}` is replaced by the service's temp dir. */
  config: string;
  /** Extra files (rule files…) written into the temp dir before start, by name. */
  files?: Record<string, string>;
  extraArgs?: string[];
}

export function startPrometheus({ config, files = {}, extraArgs = [] }: PrometheusOptions): Promise<RunningService> {
  return startHttpService({
    name: 'prometheus',
    binary: '/usr/bin/prometheus',
    debianPackage: 'prometheus',
    args: (port, dir) => {
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content.replaceAll('{{dir}}', dir));
      writeFileSync(join(dir, 'prometheus.yml'), config.replaceAll('{{dir}}', dir));
      return [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        ...extraArgs,
      ];
    },
    readyPath: '/-/ready',
    timeoutMs: 60_000,
  });
}

export function startAlertmanager(config: string): Promise<RunningService> {
  return startHttpService({
    name: 'alertmanager',
    binary: '/usr/bin/prometheus-alertmanager',
    debianPackage: 'prometheus-alertmanager',
    args: (port, dir) => {
      writeFileSync(join(dir, 'alertmanager.yml'), config);
      return [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ];
    },
    readyPath: '/-/ready',
  });
}

/** Runs an instant query through Prometheus' HTTP API and returns its vector/scalar result. */
export async function queryPrometheus(
  baseUrl: string,
  query: string,
  time?: number,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const params = new URLSearchParams({ query });
  if (time !== undefined) params.set('time', String(time));
  const response = await fetch(`${baseUrl}/api/v1/query?${params}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') throw new Error(`query ${query} failed: ${body.error}`);
  const { resultType, result } = body.data!;
  if (resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
  return result as Array<{ metric: Record<string, string>; value: [number, string] }>;
}
