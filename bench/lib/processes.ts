// Servers under test run in child processes, never in the process that drives load or prints results.
// TypeScript entries are compiled as production compiles them (build.ts) and run on plain `node`: running them
// under `tsx` would add its loader thread (~40 MB RSS) and make RSS comparisons unfair.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildEntry, nodeEntries, outputOf } from '../../build.js';
import { freePort, makeTempDir, removeDir, spawnLogged, waitUntil } from '../../test/support/services/process.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
// Inside node_modules so that the bundles' bare imports (hono, prom-client…) resolve to the installed packages.
const bundleDir = join(repoRoot, 'node_modules', '.cache', 'bench');

/** Two cores: the server under test gets CPU 1 to itself, the load generator and helpers share CPU 0. */
export const SERVER_CPU = '1';
export const LOAD_CPU = '0';
const canPin = (() => {
  try {
    return (
      readFileSync('/proc/cpuinfo', 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('processor')).length >= 2
    );
  } catch {
    return false;
  }
})();

/** `cpu` is a taskset CPU list, or "all" for no pinning. */
export function pinned(cpu: string, command: string, args: string[]): [string, string[]] {
  return canPin && cpu !== 'all' ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];
}

/**
 * Moves a running service (all its threads; children it forks later inherit it) onto `cpu`: PostgreSQL's
 * backends would otherwise take turns with the server under test on its core, and every query's wake-up would
 * preempt it.
 */
export function pinRunning(pid: number, cpu: string): void {
  if (canPin) execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
}

const built = new Map<string, string>();

/**
 * Bundles a TypeScript entry as `npm run build` does (build.ts). The production entries go where that build puts
 * them (dist/), so the bench runs the very JavaScript production runs; the rest go to a cache folder.
 */
export async function bundle(entry: string): Promise<string> {
  const cached = built.get(entry);
  if (cached) return cached;
  // .mjs: under node_modules no package.json says "type": "module".
  const outfile = nodeEntries.includes(entry) ? outputOf(entry) : join(bundleDir, `${entry.replaceAll(/[^a-zA-Z0-9]+/g, '_')}.mjs`);
  await buildEntry(entry, outfile);
  built.set(entry, outfile);
  return outfile;
}

export interface BenchProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Resident set size now, from /proc (bytes). */
  rssBytes(): number;
  /** CPU time (user + system) the process has used so far, from /proc (seconds, 10 ms resolution). */
  cpuSeconds(): number;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export function cpuSecondsOf(pid: number): number {
  // /proc/<pid>/stat: fields after the parenthesised command; utime and stime are the 14th and 15th, in ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** The processes whose parent is `parentPid` and whose command name is `name`, from /proc (Linux). */
export function childPidsNamed(parentPid: number, name: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // After the command: state, then the parent's pid.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === parentPid && command === name) found.push(Number(entry));
  }
  return found;
}

// USER_HZ, 100 on every Linux this runs on (getconf CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100;

export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

interface StartOptions {
  name: string;
  command: string;
  args: (port: number, dir: string) => string[];
  env?: Record<string, string>;
  /** Env vars that receive the chosen port (PORT, GATEWAY_PORT…). */
  portEnv?: string[];
  readyPath: string;
  cpu?: string;
  timeoutMs?: number;
  /** Some servers (wrangler dev) spawn the real listener as a grandchild; we still stop the group. */
  detached?: boolean;
  /** The child picks its own port and prints `BENCH_LISTENING <url>`; `args`' port is then unused. */
  announcesUrl?: boolean;
}

const running = new Set<BenchProcess>();

export async function startProcess(options: StartOptions): Promise<BenchProcess> {
  const dir = makeTempDir(`bench-${options.name}`);
  const port = await freePort();
  const [command, args] = pinned(options.cpu ?? SERVER_CPU, options.command, options.args(port, dir));
  // Detached by default: the child leads its own process group, so wrappers like taskset/wrangler stop with it.
  const spawned = spawnLogged(options.name, command, args, dir, {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      ...options.env,
      ...Object.fromEntries((options.portEnv ?? []).map((key) => [key, String(port)])),
    },
    detached: options.detached ?? true,
  });
  const { child, logTail } = spawned;
  let url = `http://127.0.0.1:${port}`;
  const processHandle: BenchProcess = {
    name: options.name,
    url,
    port,
    pid: child.pid!,
    child,
    rssBytes: () => rssOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    logTail,
    async stop() {
      running.delete(processHandle);
      await spawned.stop();
      removeDir(dir);
    },
  };
  running.add(processHandle);
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
        if (options.announcesUrl) {
          const announced = /BENCH_LISTENING (\S+)/.exec(logTail(50))?.[1];
          if (!announced) return false;
          url = announced;
          processHandle.url = url;
          processHandle.port = Number(new URL(url).port);
        }
        const response = await fetch(`${url}${options.readyPath}`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        return response.ok;
      },
      { what: options.name, timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await processHandle.stop();
    throw new Error(`${options.name} did not start: ${String(error)}\n${logTail()}`);
  }
  return processHandle;
}

/** A TypeScript server entry that listens on `PORT` (127.0.0.1), bundled and run on plain node. */
export async function startNodeServer(
  name: string,
  entry: string,
  {
    env = {},
    portEnv = ['PORT'],
    readyPath = '/livez',
    nodeArgs = [],
    cpu = SERVER_CPU,
    announcesUrl = false,
    readyTimeoutMs = 30_000,
  }: {
    env?: Record<string, string>;
    portEnv?: string[];
    readyPath?: string;
    nodeArgs?: string[];
    cpu?: string;
    announcesUrl?: boolean;
    readyTimeoutMs?: number;
  } = {},
): Promise<BenchProcess> {
  const bundled = await bundle(entry);
  // BENCH_CPU_PROF=<dir>: every Node server writes a V8 CPU profile there when it is stopped (SIGTERM → exit).
  const profileDir = process.env.BENCH_CPU_PROF;
  const profileArgs = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
    : [];
  return startProcess({
    name,
    command: process.execPath,
    args: () => [...profileArgs, ...nodeArgs, bundled],
    env,
    portEnv,
    readyPath,
    cpu,
    announcesUrl,
    timeoutMs: readyTimeoutMs,
  });
}

/** The Elasticsearch `_bulk` stand-in the benches ship logs to, on the load core so it is not charged to the server. */
export function startBulkStandIn(): Promise<BenchProcess> {
  return startNodeServer('elasticsearch-bulk', 'bench/servers/elasticsearch-bulk.ts', {
    readyPath: '/',
    cpu: LOAD_CPU,
    announcesUrl: true,
  });
}

/** Our gateway as the API benches push to it, on the load core: the API's pushes are measured, not the gateway's work. */
export function startPushTarget(): Promise<BenchProcess> {
  return startNodeServer('gateway', 'pushgateway/node.ts', {
    env: { GATEWAY_HOST: '127.0.0.1' },
    portEnv: ['GATEWAY_PORT'],
    readyPath: '/-/ready',
    cpu: LOAD_CPU,
  });
}

/**
 * Waits until `server` stops using CPU (< 20 ms in 250 ms), at most `maxMs`. After a load run the server may
 * still be working through requests that were in flight (the official gateway at 55k takes seconds per push);
 * measuring the next variant on the same core before it is done would charge that work to the next one.
 */
export async function settle(server: Pick<BenchProcess, 'cpuSeconds'>, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = server.cpuSeconds();
  while (Date.now() < deadline) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
    const now = server.cpuSeconds();
    if (now - last < 0.02) return;
    last = now;
  }
}

/** Stops whatever is still running (on error or Ctrl-C), so a bench never leaves servers behind. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((processHandle) => processHandle.stop().catch(() => {})));
}

/**
 * Runs a TypeScript script to completion in a pinned child process and returns the JSON it printed on its
 * last `BENCH_RESULT {…}` line. Killed (and failed) after `timeoutMs`.
 */
export async function runNodeScript<T>(
  name: string,
  entry: string,
  {
    env = {},
    cpu = SERVER_CPU,
    timeoutMs = 120_000,
    nodeArgs = [],
  }: { env?: Record<string, string>; cpu?: string; timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<T> {
  const bundled = await bundle(entry);
  const [command, args] = pinned(cpu, process.execPath, [...nodeArgs, bundled]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production', ...env } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', (exitCode) => resolveExit(exitCode)));
  clearTimeout(timer);
  const line = output
    .split('\n')
    .reverse()
    .find((candidate) => candidate.startsWith('BENCH_RESULT '));
  if (code !== 0 || !line) throw new Error(`${name} failed (exit ${code ?? 'killed'}):\n${output.slice(-3000)}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as T;
}
