// `npm start` as a user runs it: no service installed, embedded PGlite in a temp dir, free loopback ports.
// It must answer health and CRUD, exit 0 on SIGTERM after a clean shutdown, keep its data across a
// restart, refuse to start on a bad variable with a message naming it, and keep a tokenless in-process
// gateway on loopback, logging in the API's ECS format.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir, type SpawnedProcess, spawnLogged, waitUntil } from '../support/services/index.js';
import { listeningAddresses } from '../support/socket-table.js';

const repoRoot = join(import.meta.dirname, '../..');
const dir = makeTempDir('api-start');
const running: SpawnedProcess[] = [];

afterAll(async () => {
  // SIGTERM reaches the server through npm (the script `exec`s), so nothing is left behind.
  for (const proc of running) await proc.stop('SIGTERM');
  removeDir(dir);
});

async function npmStart(name: string, pgliteDir: string, host = '127.0.0.1') {
  const port = await freePort();
  const gatewayPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    GATEWAY_PORT: String(gatewayPort),
    HOST: host,
    PGLITE_DIR: pgliteDir,
    LOG_LEVEL: 'info',
  };
  for (const variable of [
    'DATABASE_URL',
    'UPSTASH_REDIS_REST_URL',
    'UPSTASH_REDIS_REST_TOKEN',
    'PUSHGATEWAY_URL',
    'ELASTICSEARCH_URL',
    'LOG_FILE',
    'GATEWAY_HOST',
    'GATEWAY_PUSH_TOKEN',
  ]) {
    delete env[variable];
  }
  const proc = spawnLogged(name, 'npm', ['start', '--silent'], dir, { cwd: repoRoot, env });
  running.push(proc);
  const exit = once(proc.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`npm start exited early:\n${proc.logTail()}`);
      return (await fetch(`${base}/livez`, { signal: AbortSignal.timeout(2_000) })).ok;
    },
    // Generous: a fresh PGlite cluster (initdb in WebAssembly) is slow on a busy 2-core machine.
    { timeoutMs: 300_000, intervalMs: 250, what: 'npm start' },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${proc.logTail()}`);
  });
  return { proc, base, exit, port, gatewayPort };
}

/** A POST whose body is sent in two halves, the second only when the test says so. */
function slowPost(url: string, body: string) {
  const half = Math.floor(body.length / 2);
  let sendRest!: () => void;
  let firstHalfSent!: Promise<void>;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    firstHalfSent = new Promise((resolve) => req.write(body.slice(0, half), () => resolve()));
    sendRest = () => req.end(body.slice(half));
  });
  return { response, firstHalfSent, sendRest: () => sendRest() };
}

/** Runs `npm start` expecting it to exit by itself (a refusal to start); gives its exit code and output. */
async function runToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: repoRoot,
    env: { ...process.env, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killTimer = setTimeout(() => child.kill('SIGTERM'), 90_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killTimer);
  return { code, output };
}

describe('npm start', () => {
  it('serves health and CRUD on embedded PGlite, exits 0 on SIGTERM, and keeps its data', async () => {
    const pgliteDir = join(dir, 'pglite');
    const first = await npmStart('first', pgliteDir);
    const health = await fetch(`${first.base}/api/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('pass');

    const created = await fetch(`${first.base}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'start@example.com', name: 'Started' }),
    });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };
    const task = await fetch(`${first.base}/api/users/${user.id}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'survive a restart' }),
    });
    expect(task.status).toBe(201);
    expect(first.proc.logTail(50)).toContain(`API listening on ${first.base}`);

    // A second instance on the same PGlite folder would corrupt it: it refuses to start, naming the holder.
    const intruder = await runToExit({ PGLITE_DIR: pgliteDir, PORT: String(await freePort()), GATEWAY_PORT: String(await freePort()) });
    expect(intruder.code).toBe(1);
    expect(intruder.output).toContain(`PGLITE_DIR ${pgliteDir} is in use by process`);
    expect((await fetch(`${first.base}/api/users/${user.id}`)).status).toBe(200);

    first.proc.child.kill('SIGTERM');
    const [code] = await first.exit;
    expect(code, first.proc.logTail()).toBe(0);
    expect(first.proc.logTail(50)).toContain('stopped');
    await expect(fetch(`${first.base}/livez`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();

    const second = await npmStart('second', pgliteDir);
    const read = await fetch(`${second.base}/api/users/${user.id}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { email: string }).email).toBe('start@example.com');
    const tasks = (await (await fetch(`${second.base}/api/users/${user.id}/tasks`)).json()) as { data: Array<{ title: string }> };
    expect(tasks.data.map((t) => t.title)).toEqual(['survive a restart']);

    // Graceful: a request whose body is still arriving when SIGINT comes is finished, then the process exits 0.
    const inFlight = slowPost(`${second.base}/api/users`, JSON.stringify({ email: 'late@example.com', name: 'In flight' }));
    await inFlight.firstHalfSent;
    second.proc.child.kill('SIGINT');
    await waitUntil(async () => second.proc.logTail(20).includes('finishing requests in flight'), {
      timeoutMs: 30_000,
      what: 'shutdown start',
    });
    inFlight.sendRest();
    const late = await inFlight.response;
    expect(late.status, late.body).toBe(201);
    expect(JSON.parse(late.body)).toMatchObject({ email: 'late@example.com' });
    expect((await second.exit)[0]).toBe(0);
  }, 900_000);

  it('refuses to start on a bad variable (naming it) or an unreachable database (exit 1, no secret logged)', async () => {
    const { code, output } = await runToExit({ PORT: 'eighty', LOG_LEVEL: 'loud', PGLITE_DIR: join(dir, 'never') });
    expect(code).toBe(1);
    expect(output).toContain('PORT must be an integer');
    expect(output).toContain('LOG_LEVEL must be one of');

    const unreachable = await runToExit({
      DATABASE_URL: `postgres://postgres:not-in-logs@127.0.0.1:${await freePort()}/none`,
      PORT: String(await freePort()),
      GATEWAY_PORT: String(await freePort()),
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.output).toContain('cannot open the database: connect ECONNREFUSED');
    expect(unreachable.output).not.toContain('not-in-logs');
  }, 180_000);

  it('exits 1 naming GATEWAY_PORT when the in-process gateway cannot listen', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as AddressInfo).port;
    try {
      const { code, output } = await runToExit({
        PGLITE_DIR: 'memory://',
        PORT: String(await freePort()),
        GATEWAY_PORT: String(takenPort),
      });
      expect(code).toBe(1);
      expect(output).toContain(`GATEWAY_PORT ${takenPort} is already in use`);
    } finally {
      taken.close();
    }
  }, 180_000);

  // On every interface without GATEWAY_PUSH_TOKEN: the API listens everywhere, its in-process gateway (which
  // would take pushes and deletes from anyone) only on loopback, and the log says why.
  it('keeps the in-process gateway on 127.0.0.1 when no push token is set', async () => {
    const { proc, port, gatewayPort } = await npmStart('npm-start-host', 'memory://', '0.0.0.0');
    try {
      expect(listeningAddresses(gatewayPort)).toEqual(['0100007F']);
      expect(listeningAddresses(port).some((address) => /^0+$/.test(address))).toBe(true);
      expect(proc.logTail(50)).toContain(
        `gateway started in this process on 127.0.0.1:${gatewayPort}, loopback only as GATEWAY_PUSH_TOKEN is not set`,
      );
      // One format on stdout: the in-process gateway's own lines are the API's ECS lines, marked in log.logger.
      const lines = proc
        .logTail(50)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.find((line) => line.message === 'gateway listening')).toMatchObject({
        'ecs.version': expect.any(String),
        'log.level': 'info',
        'log.logger': 'pushgateway',
      });
      expect(lines.every((line) => typeof line['ecs.version'] === 'string' && !('level' in line))).toBe(true);
    } finally {
      await proc.stop('SIGTERM');
    }
  }, 360_000);
});
