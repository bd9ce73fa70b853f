// A client that goes away mid-push (a crashed process, a timeout on its side) is not a gateway failure:
// the request is counted as code 499 (client closed request), logged at debug, and nothing is stored.
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { type GatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';

const logged: Array<{ level: string; message: string }> = [];
const record = (level: string) => (_fields: Record<string, unknown>, message: string) => void logged.push({ level, message });
const logger: GatewayLogger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };

let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startGateway({ config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1' }), logger });
});

afterAll(async () => {
  await gateway?.stop();
});

/** Sends the head and part of a body over a raw socket, then closes the connection before the rest. */
async function abortMidBody(path: string, headers: Record<string, string>, partialBody: Uint8Array): Promise<void> {
  const socket = connect(gateway.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const head = [
    `PUT ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head);
  await new Promise<void>((resolve) => socket.write(partialBody, () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 50)); // the gateway is now waiting for the rest of the body
  socket.destroy();
  await new Promise((resolve) => socket.once('close', resolve));
}

async function pushCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^pushgateway_http_requests_total\{code="(\d+)",handler="push",method="put"\} (\S+)$/gm))
    counts[match[1]!] = Number(match[2]);
  return counts;
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await condition()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('a push the client aborts', () => {
  it.each([
    ['with a Content-Length', { 'content-length': '1000' }, new TextEncoder().encode('abort_len 1\n')],
    // Over 1 MiB declared, the body is read as its chunks arrive (http/body.ts), not by the direct read.
    [
      'with a Content-Length over 1 MiB',
      { 'content-length': String(2 * 1024 * 1024) },
      new TextEncoder().encode('abort_big 1\n'.repeat(5000)),
    ],
    ['chunked', { 'transfer-encoding': 'chunked' }, new TextEncoder().encode('c\r\nabort_chunk 1\n\r\n')],
    [
      'gzip, chunked',
      { 'transfer-encoding': 'chunked', 'content-encoding': 'gzip' },
      (() => {
        const gz = gzipSync('abort_gzip 1\n'.repeat(1000)).subarray(0, 40);
        return Buffer.concat([Buffer.from(`${gz.length.toString(16)}\r\n`), gz, Buffer.from('\r\n')]);
      })(),
    ],
  ])('%s is counted as 499, logged at debug, and stores nothing', async (_what, headers, partial) => {
    const before = await pushCounts();
    logged.length = 0;
    await abortMidBody('/metrics/job/aborted', headers, partial);
    await until(async () => ((await pushCounts())['499'] ?? 0) > (before['499'] ?? 0));
    const after = await pushCounts();
    expect(after['499'] ?? 0).toBe((before['499'] ?? 0) + 1);
    expect(after['500'] ?? 0).toBe(before['500'] ?? 0);
    expect(after['400'] ?? 0).toBe(before['400'] ?? 0);
    expect(logged.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
    expect(logged.some((line) => line.level === 'debug')).toBe(true);
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).not.toContain('job="aborted"');
  });
});
