// Host-wide counters (system_network_io_bytes_total) are pushed as deltas and summed by the gateway, so if every
// process on a host pushed them, N processes would count the host's traffic N times. One process per network
// namespace (what /proc/net/dev describes) owns them: the first to create a lock file in the temp directory,
// holding its pid. The others count nothing; when the owner's pid is gone, the next reading takes over.
// Hand-written rather than a lock library: it must never block or wait, only answer "is it me" per reading.
import { randomUUID } from 'node:crypto';
import { readFile, readlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HostOwnership {
  /** Whether this process owns the host-wide figures now; true also on the reading where it took over. */
  isOwner(): Promise<boolean>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** The lock for this process's network namespace (one per container), or for the host where that is unknown. */
async function defaultLockFile(dir: string): Promise<string> {
  let namespace = 'host';
  try {
    namespace = (await readlink('/proc/self/ns/net')).replace(/\D/g, '') || 'host';
  } catch {
    // not Linux
  }
  return join(dir, `hono-edge-metrics-host-metrics-${namespace}.lock`);
}

export function hostOwnership({ dir = tmpdir(), lockFile }: { dir?: string; lockFile?: string } = {}): HostOwnership {
  // pid plus a token, so two instances in one process (tests) are told apart too.
  const me = `${process.pid} ${randomUUID()}`;
  let file: Promise<string> | undefined;
  return {
    async isOwner() {
      const path = await (file ??= lockFile ? Promise.resolve(lockFile) : defaultLockFile(dir));
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await writeFile(path, me, { flag: 'wx' });
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false; // no writable temp dir: count nothing
        }
        let holder: string;
        try {
          holder = await readFile(path, 'utf8');
        } catch {
          continue; // removed meanwhile: try to create it again
        }
        if (holder === me) return true;
        const pid = Number(holder.split(' ')[0]);
        if (Number.isInteger(pid) && pid > 0 && alive(pid)) return false;
        // A dead owner's lock: remove it and race for a new one (only one `wx` create can win).
        await unlink(path).catch(() => undefined);
      }
      return false;
    },
  };
}
