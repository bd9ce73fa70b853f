// An exclusive lock on a PGlite data folder. PGlite does not lock its folder, and two processes writing
// one cluster corrupt it (a second `npm start` on the same PGLITE_DIR would). The lock is a file holding
// the owner's pid, created with O_EXCL; a lock whose process is gone is stale and taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const lockName = '.api.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock on `dir` (which must exist) and returns its release function. */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, lockName);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new Error(`PGLITE_DIR ${dir} is in use by process ${owner}; stop it or choose another PGLITE_DIR`);
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`cannot lock PGLITE_DIR ${dir}`);
}
