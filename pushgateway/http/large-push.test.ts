// A push of many slices (core/slices) over HTTP — its body read as it arrives, decoded in pieces, parsed, validated
// and stored in slices — ends as the same push parsed and applied at once: the same stored text, or the same 400.
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.js';
import { defaultGatewayConfig } from '../config/gateway.js';
import { SLICE, SLICE_BYTES } from '../core/slices.js';
import { decodeTextBody, ExpositionParseError, parseTextExposition } from '../core/text-parser.js';
import { MemoryStore } from '../store/memory.js';
import type { PushOutcome } from '../store/types.js';

const NOW_MS = 1_700_000_000_000;
const grouping = { job: 'large', instance: 'i' };

/** Gauges and a histogram, more series than 3 slices, label values of 2-, 3- and 4-byte characters, over 1 MiB. */
function largeBody(series: number): string {
  const lines = ['# HELP large_gauge A gauge of many series.\n# TYPE large_gauge gauge\n'];
  for (let i = 0; i < series; i++) lines.push(`large_gauge{path="/é€😀/${i}",zone="eu-west-1"} ${i / 7}\n`);
  lines.push('# TYPE large_seconds histogram\n');
  for (let i = 0; i < SLICE + 3; i++) {
    lines.push(`large_seconds_bucket{route="r${i}",le="0.5"} 1\nlarge_seconds_bucket{route="r${i}",le="+Inf"} 2\n`);
    lines.push(`large_seconds_sum{route="r${i}"} 0.75\nlarge_seconds_count{route="r${i}"} 2\n`);
  }
  return lines.join('');
}

const bytesOf = (body: string | Uint8Array) => (typeof body === 'string' ? new TextEncoder().encode(body) : body);

async function overHttp(text: string | Uint8Array) {
  const store = new MemoryStore();
  const app = createGatewayApp({ store, config: { ...defaultGatewayConfig, maxBodyBytes: 64 * 1024 * 1024 }, clock: () => NOW_MS });
  const bytes = bytesOf(text);
  const response = await app.request('/metrics/job/large/instance/i', {
    method: 'PUT',
    body: bytes as Uint8Array<ArrayBuffer>,
    headers: { 'content-length': String(bytes.byteLength) },
  });
  return { status: response.status, body: await response.text(), stored: await store.exposition(NOW_MS, 'text') };
}

/** The same push parsed whole and applied at once, answered as push.ts maps outcomes. */
async function atOnce(text: string | Uint8Array) {
  const store = new MemoryStore();
  let outcome: PushOutcome | { status: 'unparsable'; message: string };
  try {
    const parsed = parseTextExposition(decodeTextBody(bytesOf(text)));
    outcome = await store.apply({
      mode: 'replace',
      grouping,
      families: parsed.families,
      ...(parsed.timestampedSample ? { timestampedSample: parsed.timestampedSample } : {}),
      nowMs: NOW_MS,
    });
  } catch (error) {
    if (!(error instanceof ExpositionParseError)) throw error;
    outcome = { status: 'unparsable', message: error.message };
  }
  return { outcome, stored: await store.exposition(NOW_MS, 'text') };
}

describe('a push of many slices over HTTP', () => {
  const body = largeBody(14 * SLICE + 17);

  it('is stored as the same push parsed and applied at once', async () => {
    expect(new TextEncoder().encode(body).byteLength).toBeGreaterThan(1024 * 1024); // read as it arrives (http/body.ts)
    expect(new TextEncoder().encode(body).byteLength).toBeGreaterThan(4 * SLICE_BYTES);
    const http = await overHttp(body);
    expect(http.status).toBe(200);
    const reference = await atOnce(body);
    expect(reference.outcome.status).toBe('applied');
    expect(http.stored).toBe(reference.stored);
    expect(http.stored).toContain(`large_gauge{instance="i",job="large",path="/é€😀/${14 * SLICE + 16}",zone="eu-west-1"}`);
  });

  it.each([
    ['a syntax error in its last line', `${body}large_gauge{path="x" 1\n`, 'invalid_body'],
    ['invalid UTF-8 after a syntax error', Uint8Array.from([...bytesOf(`broken{ 1\n${body}`), 0xff, 0x0a]), 'invalid_body'],
    ['a series pushed twice, far apart', `${body}large_gauge{path="/é€😀/0",zone="eu-west-1"} 1\n`, 'invalid_push'],
    ['a timestamp on its last sample', `${body}large_late 1 1700000000\n`, 'invalid_push'],
    ["a family named as the histogram's buckets", `${body}# TYPE large_seconds_bucket gauge\nlarge_seconds_bucket 1\n`, 'invalid_body'],
  ])('with %s is refused as the push parsed and applied at once, and nothing is stored', async (_what, text, code) => {
    const http = await overHttp(text);
    const reference = await atOnce(text);
    expect(reference.outcome.status).not.toBe('applied');
    expect(http.status).toBe(400);
    expect(JSON.parse(http.body)).toEqual({ error: { code, message: (reference.outcome as { message: string }).message } });
    expect(http.stored).toBe(reference.stored);
    expect(http.stored).not.toContain('large_gauge');
  });
});
