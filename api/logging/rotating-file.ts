// LOG_FILE: pino-roll (pino's kept transport for rolling files) rotating by size with a kept count, like
// RotatingFileHandler(maxBytes, backupCount). It runs in this thread as a destination stream rather than in
// pino.transport()'s worker: there, pino-roll 4's size check (it rolls on sonic-boom's 'drain') did not fire
// between writes here — one 80 KB file under a 4 KB limit — while in-process it rolls after the write that
// crosses the limit. Writes stay asynchronous either way (sonic-boom, libuv's thread pool).
import buildRollingFile from 'pino-roll';
import type { LogFileConfig } from './config.js';

export interface RotatingFile {
  write(line: string): boolean;
  /** Writes what is buffered and closes the file. */
  close(timeoutMs: number): Promise<void>;
}

export function openRotatingFile(file: LogFileConfig, onError: (error: Error) => void): RotatingFile {
  type Stream = Awaited<ReturnType<typeof buildRollingFile>>;
  let stream: Stream | undefined;
  // Lines logged in the few milliseconds before the first file is open.
  let pending: string[] | undefined = [];
  let broken = false;
  const fail = (error: Error) => {
    broken = true;
    onError(error);
  };
  const opening = buildRollingFile({
    file: file.path,
    // pino-roll reads a bare number as megabytes; the `b` unit keeps LOG_FILE_MAX_BYTES exact.
    size: `${file.maxBytes}b`,
    limit: { count: file.backups },
    mkdir: true,
  }).then(
    (opened) => {
      // A write error (disk full, file removed) must be reported, not crash the process as an unhandled 'error'.
      opened.on('error', fail);
      for (const line of pending ?? []) opened.write(line);
      pending = undefined;
      stream = opened;
    },
    (error: Error) => {
      pending = undefined;
      fail(error);
    },
  );
  return {
    write(line) {
      if (stream) stream.write(line);
      else pending?.push(line);
      return true;
    },
    async close(timeoutMs) {
      await opening;
      const opened = stream;
      // A file that never opened will never emit 'close'.
      if (!opened || broken) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        opened.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        opened.end();
      });
    },
  };
}
