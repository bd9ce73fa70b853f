// `npm run setup:elasticsearch` against the Elasticsearch and Kibana stand-ins (always) and against a real
// cluster when ELASTICSEARCH_URL is set: the ILM policy, the index template and the saved objects arrive as
// the files say.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../../api/logging/transport-client.js';
import {
  applyElasticsearchSetup,
  ilmPolicy,
  importKibanaSavedObjects,
  readIndexTemplate,
  savedObjectsPath,
} from '../../monitoring/elasticsearch/setup.js';
import {
  startElasticsearchStandIn,
  startKibanaStandIn,
  type ElasticsearchStandIn,
  type KibanaStandIn,
} from '../support/services/elasticsearch-bulk.js';

const execFileAsync = promisify(execFile);
const tsx = 'node_modules/.bin/tsx';
const setupScript = 'monitoring/elasticsearch/setup.ts';
const savedObjectCount = readFileSync(savedObjectsPath, 'utf8').trimEnd().split('\n').length;

describe('npm run setup:elasticsearch (stand-ins)', () => {
  let elasticsearch: ElasticsearchStandIn;
  let kibana: KibanaStandIn;
  beforeAll(async () => {
    elasticsearch = await startElasticsearchStandIn({ basic: { username: 'elastic', password: 'changeme' } });
    kibana = await startKibanaStandIn();
  });
  afterAll(async () => {
    await elasticsearch?.stop();
    await kibana?.stop();
  });

  it('applies the ILM policy (retention from LOG_RETENTION_DAYS), the index template and the saved objects', async () => {
    const { stdout } = await execFileAsync('npm', ['run', '--silent', 'setup:elasticsearch'], {
      env: {
        ...process.env,
        ELASTICSEARCH_URL: elasticsearch.url,
        ELASTICSEARCH_USERNAME: 'elastic',
        ELASTICSEARCH_PASSWORD: 'changeme',
        KIBANA_URL: kibana.url,
        LOG_RETENTION_DAYS: '7',
      },
      timeout: 60_000,
    });
    expect(stdout).toContain('delete after 7d');
    expect(stdout).toContain(`Kibana: ${savedObjectCount} saved objects imported`);
    expect(elasticsearch.ilmPolicies.get('logs-api')).toEqual(ilmPolicy(7));
    expect(elasticsearch.templates.get('logs-api')).toEqual(readIndexTemplate());
    expect([...kibana.savedObjects.keys()].sort()).toEqual(
      readFileSync(savedObjectsPath, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => {
          const o = JSON.parse(line) as { type: string; id: string };
          return `${o.type}:${o.id}`;
        })
        .sort(),
    );
    const importRequest = kibana.requests.find((request) => request.path.startsWith('/api/saved_objects/_import'))!;
    expect(importRequest.path).toContain('overwrite=true');
    expect(importRequest.headers.authorization).toBe(`Basic ${Buffer.from('elastic:changeme').toString('base64')}`);
    // The policy went in before the template that names it.
    const order = elasticsearch.requests.filter((request) => request.method === 'PUT').map((request) => request.path);
    expect(order).toEqual(['/_ilm/policy/logs-api', '/_index_template/logs-api']);
  });

  it('is idempotent: a second run succeeds and overwrites', async () => {
    const env = {
      ...process.env,
      ELASTICSEARCH_URL: elasticsearch.url,
      ELASTICSEARCH_USERNAME: 'elastic',
      ELASTICSEARCH_PASSWORD: 'changeme',
      KIBANA_URL: kibana.url,
    };
    // The first test ran it once already.
    const { stdout } = await execFileAsync(tsx, [setupScript], { env, timeout: 60_000 });
    expect(stdout).toContain('delete after 30d');
    expect(elasticsearch.ilmPolicies.get('logs-api')).toEqual(ilmPolicy(30));
  });

  it('waits while Kibana answers 503 (started, not ready) and then imports', async () => {
    kibana.notReadyFor(2);
    const result = await importKibanaSavedObjects(kibana.url, undefined, { retryEveryMs: 50 });
    expect(result).toMatchObject({ success: true, successCount: savedObjectCount });
    expect(kibana.requests.slice(-3).map((request) => request.path.split('?')[0])).toEqual(Array(3).fill('/api/saved_objects/_import'));
  });

  it('fails with a clear message on refused credentials and on a missing ELASTICSEARCH_URL', async () => {
    const wrong = execFileAsync(tsx, [setupScript], {
      env: {
        ...process.env,
        ELASTICSEARCH_URL: elasticsearch.url,
        ELASTICSEARCH_USERNAME: 'elastic',
        ELASTICSEARCH_PASSWORD: 'nope',
        KIBANA_URL: '',
      },
      timeout: 60_000,
    });
    await expect(wrong).rejects.toMatchObject({ stderr: expect.stringContaining('security_exception') });
    const { ELASTICSEARCH_URL: _unset, ...withoutUrl } = process.env;
    await expect(execFileAsync(tsx, [setupScript], { env: withoutUrl, timeout: 60_000 })).rejects.toMatchObject({
      stderr: expect.stringContaining('ELASTICSEARCH_URL is not set'),
    });
  });
});

const realUrl = process.env.ELASTICSEARCH_URL;
if (!realUrl)
  console.log('[logging-setup] real Elasticsearch check skipped: ELASTICSEARCH_URL is not set (Elasticsearch cannot run on this machine)');

describe.runIf(realUrl)('setup against a real Elasticsearch (ELASTICSEARCH_URL)', () => {
  it('applies the policy and the template, and the cluster returns them', async () => {
    const client = createElasticsearchClient({
      url: realUrl!,
      ...(process.env.ELASTICSEARCH_API_KEY ? { apiKey: process.env.ELASTICSEARCH_API_KEY } : {}),
      ...(process.env.ELASTICSEARCH_USERNAME
        ? { username: process.env.ELASTICSEARCH_USERNAME, password: process.env.ELASTICSEARCH_PASSWORD ?? '' }
        : {}),
    });
    try {
      await applyElasticsearchSetup(client, 30);
      const policy = await client.ilm.getLifecycle({ name: 'logs-api' });
      expect(policy['logs-api']?.policy.phases.delete?.min_age).toBe('30d');
      const templates = await client.indices.getIndexTemplate({ name: 'logs-api' });
      expect(templates.index_templates[0]?.index_template.index_patterns).toEqual(['logs-api-*']);
      const simulated = await client.indices.simulateIndexTemplate({ name: 'logs-api-simulated' });
      expect(simulated.template.settings.index?.lifecycle?.name).toBe('logs-api');
    } finally {
      await client.close();
    }
  });
});
