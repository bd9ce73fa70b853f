// `npm run db:migrate` with DATABASE_URL pointing at something that is not PostgreSQL (here an HTTP-like
// server that answers 400 and closes, as any web server does) must give up with one line naming
// host:port, never the password, instead of reconnecting forever.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '../..');
const sockets = new Set<Socket>();
const notPostgres = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));
});
let port = 0;

beforeAll(async () => {
  notPostgres.listen(0, '127.0.0.1');
  await once(notPostgres, 'listening');
  port = (notPostgres.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  notPostgres.close();
});

describe('npm run db:migrate against a server that is not PostgreSQL', () => {
  it('exits 1 with one line naming host:port and not the password', async () => {
    const env = { ...process.env, DATABASE_URL: `postgres://app:hunter2secret@127.0.0.1:${port}/app` };
    const result = await promisify(execFile)('npm', ['run', '--silent', 'db:migrate'], { cwd: repoRoot, env, timeout: 90_000 }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number | string; stdout: string; stderr: string; killed?: boolean }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`PostgreSQL at 127.0.0.1:${port} did not answer`);
    expect(result.stderr + result.stdout).not.toContain('hunter2secret');
  }, 120_000);
});
