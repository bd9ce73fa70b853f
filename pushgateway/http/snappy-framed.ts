// Snappy *framed* bodies (`Content-Encoding: snappy`), as the official gateway reads them (it wraps the body in
// golang/snappy's NewReader, the framing format, not a bare block). snappyjs (pure JS, no eval, runs on workerd)
// decodes the blocks; the framing is written here because no maintained pure-JS package implements it:
// chunks of [type byte, 24-bit little-endian length, data]. Every chunk's inflated size is bounded by the
// format (64 KiB, checked by snappyjs from the block's declared length before it allocates), and the running
// total is checked against the caller's limit after each chunk, so a small body cannot expand in memory past
// the limit plus one chunk. Each data chunk's masked CRC-32C is verified.
import { uncompress } from 'snappyjs';
import { concatenateSteps, runToEnd, SLICE_BYTES, type Sliced } from '../core/slices.js';

export class SnappyFrameError extends Error {
  constructor(message: string) {
    super(`the snappy body cannot be decoded: ${message}`);
    this.name = 'SnappyFrameError';
  }
}

export class SnappyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the request body exceeds ${limitBytes} bytes once decompressed`);
    this.name = 'SnappyTooLargeError';
  }
}

const streamIdentifier = [0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]; // "sNaPpY"
const maxChunkData = 65_536;

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1; // Castagnoli, reflected
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The framing format's checksum: CRC-32C rotated right by 15 bits plus a constant. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Decodes a whole framed stream; at most `limitBytes` of output. */
export function decodeSnappyFramed(input: Uint8Array, limitBytes: number): Uint8Array {
  return runToEnd(decodeSnappyFramedSteps(input, limitBytes));
}

/** As decodeSnappyFramed, pausing every SLICE_BYTES of output (core/slices): checksumming megabytes takes a while. */
export function* decodeSnappyFramedSteps(input: Uint8Array, limitBytes: number): Sliced<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  let decodedSincePause = 0;
  let pos = 0;
  let sawIdentifier = false;
  while (pos < input.length) {
    if (pos + 4 > input.length) throw new SnappyFrameError('truncated chunk header');
    const type = input[pos]!;
    const length = input[pos + 1]! | (input[pos + 2]! << 8) | (input[pos + 3]! << 16);
    pos += 4;
    if (pos + length > input.length) throw new SnappyFrameError('truncated chunk');
    const chunk = input.subarray(pos, pos + length);
    pos += length;
    if (type === 0xff) {
      if (length !== streamIdentifier.length || streamIdentifier.some((byte, i) => chunk[i] !== byte))
        throw new SnappyFrameError('bad stream identifier');
      sawIdentifier = true;
      continue;
    }
    if (!sawIdentifier) throw new SnappyFrameError('the stream does not start with the snappy stream identifier');
    if (type === 0x00 || type === 0x01) {
      if (length < 4) throw new SnappyFrameError('chunk too short for its checksum');
      const expected = (chunk[0]! | (chunk[1]! << 8) | (chunk[2]! << 16) | (chunk[3]! << 24)) >>> 0;
      let data: Uint8Array;
      if (type === 0x01) {
        data = chunk.subarray(4);
        if (data.length > maxChunkData) throw new SnappyFrameError('uncompressed chunk longer than 65536 bytes');
      } else {
        try {
          data = uncompress(chunk.subarray(4), maxChunkData);
        } catch (error) {
          throw new SnappyFrameError(error instanceof Error ? error.message : String(error));
        }
      }
      total += data.length;
      if (total > limitBytes) throw new SnappyTooLargeError(limitBytes);
      if (maskedCrc32c(data) !== expected) throw new SnappyFrameError('checksum mismatch');
      parts.push(data);
      decodedSincePause += data.length;
      if (decodedSincePause >= SLICE_BYTES) {
        decodedSincePause = 0;
        yield;
      }
      continue;
    }
    if (type >= 0x02 && type <= 0x7f) throw new SnappyFrameError(`reserved unskippable chunk type 0x${type.toString(16)}`);
    // 0x80–0xfe: padding and reserved skippable chunks.
  }
  return yield* concatenateSteps(parts, total);
}
