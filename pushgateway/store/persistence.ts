// Snapshot persistence for the Node gateway (GATEWAY_PERSISTENCE_FILE): the whole store — groups and the
// remembered Idempotency-Keys, taken at one instant so they agree — written as JSON to a temp file that is
// fsynced and renamed over the old one (a crash leaves the old or the new file, never half of one), on an
// interval and on shutdown, and loaded at start. A file that cannot be read as a snapshot is moved aside
// (`<file>.corrupt-<time>`) and reported, never silently ignored or overwritten.
//
// Why the keys are in it: a push applied before the snapshot and retried after a restart must still be
// recognised. A push applied after the last snapshot is lost with its key on SIGKILL, so a retry of it
// is applied once again — which is then correct, not a double count.
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { currentFormOfRememberedKey } from '../core/idempotency.js';
import { CorruptSnapshotError, decodeSnapshot, encodeSnapshot, type SnapshotSource, type StoreSnapshot } from './snapshot-codec.js';

/** Writes `text` to `file` atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  // The rename is durable only once the directory entry is; not every platform can fsync a directory.
  const directory = await open(dirname(file), 'r').catch(() => undefined);
  if (directory)
    await directory
      .sync()
      .catch(() => {})
      .finally(() => directory.close());
}

export interface PersistenceLog {
  info(message: string): void;
  error(message: string): void;
}

export type LoadResult =
  | { status: 'missing' }
  | { status: 'loaded'; snapshot: StoreSnapshot }
  | { status: 'corrupt'; reason: string; movedTo: string };

/**
 * Removes `<file>.tmp-<pid>` files a process killed mid-write left behind (a SIGKILL between the write and the
 * rename): each is as large as a snapshot and nothing else would ever delete it. Called at start, before this
 * process writes a temp file of its own.
 */
async function removeStaleTempFiles(file: string): Promise<void> {
  const prefix = `${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return; // no folder yet: nothing left behind
  }
  for (const name of names) if (name.startsWith(prefix)) await unlink(join(dirname(file), name)).catch(() => undefined);
}

/** Loads the snapshot at `file`; a corrupt file is renamed to `<file>.corrupt-<time>` and reported. */
export async function loadSnapshot(
  file: string,
  groupKeyOf: (labels: Record<string, string>) => string,
  nowMs = Date.now(),
): Promise<LoadResult> {
  await removeStaleTempFiles(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    throw error;
  }
  try {
    const snapshot = decodeSnapshot(text, groupKeyOf);
    for (const remembered of snapshot.idempotencyKeys) remembered.key = await currentFormOfRememberedKey(remembered.key);
    return { status: 'loaded', snapshot };
  } catch (error) {
    if (!(error instanceof CorruptSnapshotError)) throw error;
    const movedTo = `${file}.corrupt-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`;
    await rename(file, movedTo);
    return { status: 'corrupt', reason: error.message, movedTo };
  }
}

export interface Snapshotter {
  /** Writes a snapshot now (serialised with any in-progress write). */
  flush(): Promise<void>;
  /** Stops the interval and writes a last snapshot. */
  stop(): Promise<void>;
  /** Snapshots written and failed so far. */
  readonly stats: { written: number; failed: number; lastWrittenMs: number };
}

/**
 * Writes `source.snapshot()` to `file` every `intervalMs` and on `stop()`. A failed write is logged and
 * counted; the next interval tries again and the previous file stays intact.
 */
export function startSnapshotting({
  file,
  intervalMs,
  source,
  log,
  clock = Date.now,
}: {
  file: string;
  intervalMs: number;
  source: SnapshotSource;
  log: PersistenceLog;
  clock?: () => number;
}): Snapshotter {
  const stats = { written: 0, failed: 0, lastWrittenMs: 0 };
  let writing: Promise<void> = Promise.resolve();
  const writeOnce = async () => {
    const now = clock();
    try {
      await writeFileAtomically(file, encodeSnapshot(source.snapshot(now), now));
      stats.written++;
      stats.lastWrittenMs = now;
    } catch (error) {
      stats.failed++;
      log.error(`persistence: writing ${file} failed, the previous snapshot stays: ${(error as Error).message}`);
    }
  };
  const flush = () => (writing = writing.then(writeOnce));
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();
  return {
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
    stats,
  };
}
