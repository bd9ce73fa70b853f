// stdout for the logger: lines are encoded into one fixed block of bytes and written with one write(2) when
// the block is full, `flushIntervalMs` after its first line, on `flushSync()` and on process exit.
// sonic-boom (pino.destination) measures the UTF-8 length of its whole pending string on every write, which
// flattens a string of up to 16 KiB per line: ≈ 2–3 µs per access line here, more than building the line.
// Here a line costs one UTF-8 encode into the block. The block is all it holds: a consumer that cannot keep up
// (a full pipe) makes the write wait, as pino's default synchronous destination does; a non-blocking fd that
// answers EAGAIN keeps the unwritten bytes for the next flush and drops (counts) lines that no longer fit.
import { closeSync, openSync, writeSync } from 'node:fs';

export interface BlockWriterOptions {
  /** Bytes held before a write (default 64 KiB). */
  blockBytes?: number;
  /** Longest a line waits in the block (default 100 ms). */
  flushIntervalMs?: number;
  /** A write failed (EPIPE, EBADF…: reported once, later lines are dropped), or EAGAIN made lines drop. */
  onError?: (error: Error) => void;
}

const openWriters = new Set<BlockWriter>();
let exitHookInstalled = false;

/** Everything still held goes out on exit (process.exit() included), like pino's own asynchronous destination. */
function flushOnExit(writer: BlockWriter): void {
  openWriters.add(writer);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const open of openWriters) open.flushSync();
  });
}

export class BlockWriter {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #block: Buffer;
  readonly #flushIntervalMs: number;
  readonly #onError: (error: Error) => void;
  #used = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #broken = false;
  #dropped = 0;
  /** Dropping lines since the destination stopped taking bytes; reported once per episode. */
  #full = false;

  /** `dest`: a file descriptor (1 for stdout) or a path, opened for appending. */
  constructor(dest: number | string, options: BlockWriterOptions = {}) {
    this.#ownsFd = typeof dest === 'string';
    this.#fd = typeof dest === 'string' ? openSync(dest, 'a') : dest;
    this.#block = Buffer.allocUnsafe(options.blockBytes ?? 64 * 1024);
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#onError = options.onError ?? ((error) => process.stderr.write(`log output: ${error.message}\n`));
    flushOnExit(this);
  }

  /** Lines dropped since start because a non-blocking destination stayed full, or after a write error. */
  get dropped(): number {
    return this.#dropped;
  }

  write(line: string): boolean {
    if (!this.#broken && !this.#fits(line)) {
      this.flushSync();
      if (!this.#broken && !this.#fits(line)) {
        if (this.#used > 0) {
          this.#drop();
          return true;
        }
        // Larger than a whole block: written on its own.
        this.#writeAll(Buffer.from(line));
        return true;
      }
    }
    if (this.#broken) {
      this.#dropped++;
      return true;
    }
    if (this.#used === 0 && this.#timer === undefined) this.#startTimer();
    this.#used += this.#block.write(line, this.#used);
    return true;
  }

  /** Writes what the block holds now (all of it, unless the destination is non-blocking and full). */
  flushSync(): void {
    this.#clearTimer();
    if (this.#used === 0 || this.#broken) return;
    const written = this.#writeAll(this.#block.subarray(0, this.#used));
    if (written < this.#used) this.#block.copyWithin(0, written, this.#used);
    this.#used -= written;
    if (this.#used > 0 && !this.#broken) this.#startTimer();
    else this.#full = false;
  }

  /** Flushes and stops; closes the file when it opened one. Later lines are dropped. */
  close(): void {
    this.flushSync();
    this.#broken = true;
    openWriters.delete(this);
    if (this.#ownsFd) closeSync(this.#fd);
  }

  #fits(line: string): boolean {
    const room = this.#block.length - this.#used;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: below that bound the line surely fits, without measuring it.
    return line.length * 3 <= room || Buffer.byteLength(line) <= room;
  }

  #drop(): void {
    this.#dropped++;
    if (this.#full) return;
    this.#full = true;
    this.#onError(new Error('the destination does not take more (EAGAIN): lines are dropped until it drains'));
  }

  /** Bytes of `bytes` written before the end, EAGAIN or an error. */
  #writeAll(bytes: Uint8Array): number {
    let written = 0;
    while (written < bytes.length) {
      try {
        written += writeSync(this.#fd, bytes, written, bytes.length - written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return written;
        this.#broken = true;
        this.#onError(error as Error);
        return bytes.length;
      }
    }
    return written;
  }

  #startTimer(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flushSync();
    }, this.#flushIntervalMs);
    // A pending flush must not keep the process alive: exit flushes.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
