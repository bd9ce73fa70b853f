// Load comes from `wrk` (Debian), a separate C process pinned to the other core: a Node load generator
// (autocannon) would need a core of its own to keep up with a Node server on these 2-core machines.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LOAD_CPU, pinned, repoRoot } from './processes.js';
import { requireBinary } from '../../test/support/services/process.js';

const wrkDir = join(repoRoot, 'bench', 'wrk');

export interface LoadResult {
  requests: number;
  seconds: number;
  /** Successful (2xx/3xx) responses per second. */
  rps: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  bytes: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Lua script in bench/wrk (default get.lua). */
  script?: string;
  env?: Record<string, string>;
  /** Extra request headers, "Name: value". */
  headers?: string[];
}

export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const wrk = requireBinary(['/usr/bin/wrk'], 'wrk');
  const script = join(wrkDir, options.script ?? 'get.lua');
  const [command, args] = pinned(LOAD_CPU, wrk, [
    '-t1',
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    '--timeout',
    '10s',
    ...(options.headers ?? []).flatMap((header) => ['-H', header]),
    '-s',
    script,
    options.url,
  ]);
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BENCH_WRK_DIR: wrkDir, ...options.env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // wrk stops itself after -d; this only guards against a wedged server holding it forever.
  const guard = setTimeout(() => child.kill('SIGKILL'), (options.durationSeconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(guard);
  const line = output.split('\n').find((candidate) => candidate.startsWith('BENCH_JSON '));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}) against ${options.url}:\n${output.slice(-2000)}`);
  const raw = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
  const seconds = raw.duration_us! / 1e6;
  const errors = raw.connect_errors! + raw.read_errors! + raw.write_errors! + raw.timeouts!;
  return {
    requests: raw.requests!,
    seconds,
    rps: (raw.requests! - raw.non2xx!) / seconds,
    errors,
    non2xx: raw.non2xx!,
    p50Ms: raw.p50_us! / 1000,
    p99Ms: raw.p99_us! / 1000,
    bytes: raw.bytes!,
  };
}

export interface TimedFetch {
  /** Median seconds of the requests made. */
  seconds: number;
  /** Bytes of the (possibly compressed) body as sent. */
  bytes: number;
  status: number;
}

/**
 * Times whole responses one at a time with curl (a separate process on the load core): for slow, large
 * responses such as a 50k-series /metrics, where a fixed-duration wrk run may complete no request at all.
 * Makes `count` requests and returns the median.
 */
export async function timeRequests(url: string, { count = 3, headers = [] as string[], timeoutSeconds = 60 } = {}): Promise<TimedFetch> {
  const curl = requireBinary(['/usr/bin/curl'], 'curl');
  const samples: TimedFetch[] = [];
  for (let index = 0; index < count; index++) {
    const [command, args] = pinned(LOAD_CPU, curl, [
      '-s',
      '-o',
      '/dev/null',
      '--max-time',
      String(timeoutSeconds),
      ...headers.flatMap((header) => ['-H', header]),
      '-w',
      '%{http_code} %{time_total} %{size_download}',
      url,
    ]);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    const [status, seconds, bytes] = output.trim().split(' ').map(Number);
    if (code !== 0 || status !== 200) throw new Error(`curl ${url} failed: exit ${code}, status ${status}`);
    samples.push({ status: status!, seconds: seconds!, bytes: bytes! });
  }
  samples.sort((a, b) => a.seconds - b.seconds);
  return samples[Math.floor(samples.length / 2)]!;
}
