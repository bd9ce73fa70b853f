// Start and stop real service processes for tests: free loopback ports, readiness polling,
// logs kept in the service's temp dir so a failure can say why, and stop-by-PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningService {
  /** Base URL (http://127.0.0.1:PORT) or connection string. */
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Last lines the process wrote, for error messages. */
  logTail(lines?: number): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function makeTempDir(prefix: string, owner?: { uid: number; gid: number }): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** Finds the first existing path, or throws naming the Debian package that provides it. */
export function requireBinary(candidates: string[], debianPackage: string): string {
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(
      `${candidates[0]} not found. Install the Debian package "${debianPackage}" ` +
        `(apt-get install -y ${debianPackage}); .ci/run and the test global setup do this on a fresh machine.`,
    );
  }
  return found;
}

export async function waitUntil(
  probe: () => Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100, what = 'service' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
}

export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok;
}

export interface SpawnedProcess {
  child: ChildProcess;
  logFile: string;
  logTail(lines?: number): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a long-running process with stdout/stderr going to `<dir>/<name>.log`. */
export function spawnLogged(name: string, command: string, args: string[], dir: string, options: SpawnOptions = {}): SpawnedProcess {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], ...options });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  const logTail = (lines = 30) => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  // A detached child leads its own process group: signalling the group also stops what it spawned itself
  // (wrangler's workerd, the command a `taskset` wrapper runs).
  const signalChild = (signal: NodeJS.Signals) => {
    if (options.detached) {
      try {
        process.kill(-child.pid!, signal);
        return;
      } catch {
        // The group is gone already; the child itself may still be exiting.
      }
    }
    child.kill(signal);
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalChild(signal);
    const killTimer = setTimeout(() => signalChild('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killTimer);
  };
  return { child, logFile, logTail, stop };
}

/**
 * Waits until a spawned service answers, then describes it; if it never does, kills it and throws with the
 * end of its log, so a failed start explains itself.
 */
export async function serviceWhenReady(
  proc: SpawnedProcess,
  service: { url: string; port: number; dir: string; what: string; timeoutMs?: number; defaultStopSignal?: NodeJS.Signals },
  probe: () => Promise<boolean>,
): Promise<RunningService> {
  try {
    await waitUntil(probe, { what: service.what, timeoutMs: service.timeoutMs ?? 30_000 });
  } catch (error) {
    await proc.stop('SIGKILL');
    throw new Error(`${String(error)}\n${proc.logTail()}`);
  }
  return {
    url: service.url,
    port: service.port,
    pid: proc.child.pid!,
    dir: service.dir,
    logTail: proc.logTail,
    async stop(signal = service.defaultStopSignal ?? 'SIGTERM') {
      await proc.stop(signal);
      removeDir(service.dir);
    },
  };
}

/** Removes a temp dir, ignoring races with a process that is still shutting down. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
