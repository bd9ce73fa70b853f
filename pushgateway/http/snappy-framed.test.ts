import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { checksummed, chunk, concat, snappyFramed, streamIdentifierChunk } from '../../test/support/snappy-framed.js';
import { createGatewayApp } from '../app.js';
import { defaultGatewayConfig } from '../config/gateway.js';
import { runInSlices } from '../core/slices.js';
import { MemoryStore } from '../store/memory.js';
import {
  crc32c,
  decodeSnappyFramed,
  decodeSnappyFramedSteps,
  maskedCrc32c,
  SnappyFrameError,
  SnappyTooLargeError,
} from './snappy-framed.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('snappy framing format', () => {
  it('computes CRC-32C (Castagnoli) with the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('decodes a stream of several compressed chunks', () => {
    const input = 'metric_a 1\n'.repeat(20_000); // 220 000 bytes: four chunks
    expect(text(decodeSnappyFramed(snappyFramed(input), 1 << 20))).toBe(input);
  });

  it('decodes a stream of many SLICE_BYTES in slices, so other turns run meanwhile, to the same bytes', async () => {
    const input = 'metric_b{i="…"} 2\n'.repeat(60_000); // ≈ 1.2 MB: several slices of output
    const framed = snappyFramed(input);
    let otherTurnRan = false;
    setImmediate(() => {
      otherTurnRan = true;
    });
    const decoded = await runInSlices(decodeSnappyFramedSteps(framed, 2 * 1024 * 1024));
    expect(otherTurnRan).toBe(true);
    expect(decoded).toEqual(decodeSnappyFramed(framed, 2 * 1024 * 1024));
    expect(text(decoded)).toBe(input);
  });

  it('reads uncompressed chunks and skips padding', () => {
    const data = new TextEncoder().encode('x 1\n');
    const stream = concat([streamIdentifierChunk, chunk(0xfe, new Uint8Array(3)), chunk(0x01, checksummed(maskedCrc32c(data), data))]);
    expect(text(decodeSnappyFramed(stream, 100))).toBe('x 1\n');
  });

  it('refuses a wrong checksum, a missing identifier, a reserved chunk and a truncated stream', () => {
    const data = new TextEncoder().encode('x 1\n');
    const badCrc = concat([streamIdentifierChunk, chunk(0x00, checksummed(maskedCrc32c(data) ^ 1, compress(data)))]);
    expect(() => decodeSnappyFramed(badCrc, 100)).toThrow(/checksum/);
    expect(() => decodeSnappyFramed(compress(data), 100)).toThrow(SnappyFrameError); // a bare block is not the framed format
    expect(() => decodeSnappyFramed(concat([streamIdentifierChunk, chunk(0x02, data)]), 100)).toThrow(/unskippable/);
    const whole = snappyFramed('x 1\n');
    expect(() => decodeSnappyFramed(whole.subarray(0, whole.length - 2), 100)).toThrow(/truncated/);
  });

  it('stops a bomb: 4 MiB of zeros in a few hundred bytes is refused past the limit, not inflated whole', () => {
    const bomb = snappyFramed(new Uint8Array(4 << 20));
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => decodeSnappyFramed(bomb, 100_000)).toThrow(SnappyTooLargeError);
  });
});

describe('Content-Encoding: snappy on a push', () => {
  const app = () => createGatewayApp({ store: new MemoryStore(), config: { ...defaultGatewayConfig, maxBodyBytes: 4096 } });

  it('is decoded before parsing (main.go decodeRequest: snappy.NewReader, the framed format)', async () => {
    const gateway = app();
    const response = await gateway.request('/metrics/job/snap', {
      method: 'PUT',
      body: snappyFramed('# TYPE snapped gauge\nsnapped 42\n'),
      headers: { 'content-encoding': 'snappy' },
    });
    expect(response.status).toBe(200);
    expect(await (await gateway.request('/metrics')).text()).toContain('snapped{instance="",job="snap"} 42\n');
  });

  it('answers 413 when the decompressed body passes the limit and 400 for a corrupt stream; nothing is stored', async () => {
    const gateway = app();
    const big = await gateway.request('/metrics/job/snap', {
      method: 'PUT',
      body: snappyFramed(`big 1\n${'# c\n'.repeat(2000)}`),
      headers: { 'content-encoding': 'snappy' },
    });
    expect(big.status).toBe(413);
    const corrupt = await gateway.request('/metrics/job/snap', {
      method: 'PUT',
      body: new Uint8Array([0xff, 6, 0, 0, 1, 2, 3, 4, 5, 6]),
      headers: { 'content-encoding': 'snappy' },
    });
    expect(corrupt.status).toBe(400);
    expect(((await corrupt.json()) as { error: { code: string } }).error.code).toBe('bad_encoding');
    expect(await (await gateway.request('/metrics')).text()).not.toContain('job="snap"');
  });
});
