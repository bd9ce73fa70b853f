// The Node entry (`npm start`) with ELASTICSEARCH_URL set: access lines and start-up lines reach the data
// stream, and SIGTERM ships what is still buffered — the last line ("stopped") included — before the exit. With
// Elasticsearch accepting connections but never answering, SIGTERM still ends inside its budget, saying what it does.
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ElasticsearchStandIn, startElasticsearchStandIn } from '../support/services/elasticsearch-bulk.js';
import { freePort, makeTempDir, removeDir, type SpawnedProcess, spawnLogged, waitUntil } from '../support/services/process.js';

describe('npm start ships its logs to Elasticsearch and flushes them on SIGTERM', () => {
  let standIn: ElasticsearchStandIn;
  let api: SpawnedProcess;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    standIn = await startElasticsearchStandIn({ basic: { username: 'logs_writer', password: 'pw' } });
    dir = makeTempDir('logging-node-entry');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    api = spawnLogged('api', join('node_modules', '.bin', 'tsx'), ['api/node.ts'], dir, {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEWAY_PORT: String(await freePort()),
        PGLITE_DIR: 'memory://',
        ELASTICSEARCH_URL: standIn.url,
        ELASTICSEARCH_USERNAME: 'logs_writer',
        ELASTICSEARCH_PASSWORD: 'pw',
        // Long enough that nothing ships on its own during the test: only the shutdown flush can.
        LOG_FLUSH_INTERVAL_MS: '600000',
      },
    });
    await waitUntil(async () => (await fetch(`${url}/livez`)).ok, { timeoutMs: 120_000, what: `API (${api.logTail()})` });
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    await standIn?.stop();
    if (dir) removeDir(dir);
  });

  it('ships nothing before the batch is due, then everything at SIGTERM, in ECS', async () => {
    const response = await fetch(`${url}/api/users/00000000-0000-7000-8000-000000000000`);
    expect(response.status).toBe(404);
    expect(standIn.documents('logs-api-default')).toHaveLength(0);

    const exited = new Promise<number | null>((resolve) => api.child.once('exit', (code) => resolve(code)));
    api.child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const documents = standIn.documents('logs-api-default');
    const access = documents.find((document) => document['url.path'] === '/api/users/00000000-0000-7000-8000-000000000000');
    expect(access).toMatchObject({
      'service.name': 'api',
      'http.request.method': 'GET',
      'http.response.status_code': 404,
      'user.id': '00000000-0000-7000-8000-000000000000',
      'trace.id': response.headers.get('x-request-id'),
    });
    const messages = documents.map((document) => document.message as string);
    expect(messages.some((message) => message.startsWith('API listening on'))).toBe(true);
    expect(messages).toContain('stopped');
    // A plain value under an ECS object name (`{ url }` in the start-up line) was kept, as labels.url.
    expect(documents.find((document) => (document.message as string).startsWith('API listening on'))).toMatchObject({
      labels: { url: expect.stringMatching(/^http:/) },
    });
    expect(api.logTail(200)).not.toContain('log_shipper.dropped');
  });
});

describe('npm start with Elasticsearch unreachable', () => {
  it('stops on SIGTERM within its shutdown budget, announcing each step', async () => {
    // Accepts connections and never answers: the worst case for a shipper (no quick refusal).
    const sockets: Socket[] = [];
    const blackhole: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const esPort = (blackhole.address() as { port: number }).port;
    const dir = makeTempDir('logging-node-unreachable');
    const port = await freePort();
    const api = spawnLogged('api', join('node_modules', '.bin', 'tsx'), ['api/node.ts'], dir, {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEWAY_PORT: String(await freePort()),
        PGLITE_DIR: 'memory://',
        ELASTICSEARCH_URL: `http://127.0.0.1:${esPort}`,
        SHUTDOWN_TIMEOUT_MS: '3000',
      },
    });
    try {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/livez`)).ok, {
        timeoutMs: 120_000,
        what: `API (${api.logTail()})`,
      });
      const exited = new Promise<number | null>((resolve) => api.child.once('exit', (code) => resolve(code)));
      const started = Date.now();
      api.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // In-flight requests (none here) and then all hooks share SHUTDOWN_TIMEOUT_MS; the final stdout flush 2 s.
      expect(Date.now() - started).toBeLessThan(3_000 + 2_000 + 2_000);
      const tail = api.logTail(200);
      expect(tail).toMatch(/"message":"shutdown: log shipping \(up to \d+ ms\)"/);
      expect(tail).toContain('"message":"stopped"');
    } finally {
      await api.stop('SIGKILL');
      for (const socket of sockets) socket.destroy();
      blackhole.close();
      removeDir(dir);
    }
  }, 180_000);
});
