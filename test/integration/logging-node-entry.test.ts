// The Node entry (`npm start`) with ELASTICSEARCH_URL set: access lines and start-up lines reach the data
// stream, and SIGTERM ships what is still buffered — the last line ("stopped") included — before the exit.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir, spawnLogged, waitUntil, type SpawnedProcess } from '../support/services/process.js';
import { startElasticsearchStandIn, type ElasticsearchStandIn } from '../support/services/elasticsearch-bulk.js';

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
