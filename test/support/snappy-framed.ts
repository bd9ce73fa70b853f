// A snappy framing-format encoder for tests (what golang/snappy's Writer and python-snappy's StreamCompressor
// send): the stream identifier, then one compressed chunk per 64 KiB of input, each with its masked CRC-32C.
import { compress } from 'snappyjs';
import { maskedCrc32c } from '../../pushgateway/http/snappy-framed.js';

export function chunk(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[0] = type;
  out[1] = data.length & 0xff;
  out[2] = (data.length >> 8) & 0xff;
  out[3] = (data.length >> 16) & 0xff;
  out.set(data, 4);
  return out;
}

export function checksummed(checksum: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, checksum, true);
  out.set(payload, 4);
  return out;
}

export const streamIdentifierChunk = chunk(0xff, new TextEncoder().encode('sNaPpY'));

export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function snappyFramed(input: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const data = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const parts = [streamIdentifierChunk];
  for (let start = 0; start < data.length; start += 65_536) {
    const piece = data.subarray(start, start + 65_536);
    parts.push(chunk(0x00, checksummed(maskedCrc32c(piece), compress(piece))));
  }
  return concat(parts);
}
