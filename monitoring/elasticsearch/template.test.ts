// The index template, ILM policy and Kibana saved objects are valid, and agree with what the logger really
// writes: the lines are produced here by the Node and Workers loggers (access lines, errors, the shipper's own
// reports), flattened to field names, and compared with the template's mappings and the saved objects' fields.
import { readFileSync } from 'node:fs';
import { Client, errors } from '@elastic/elasticsearch';
import Mock from '@elastic/elasticsearch-mock';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { describe, expect, it } from 'vitest';
import { accessLog } from '../../api/logging/access-log.js';
import { createNodeLogging } from '../../api/logging/node.js';
import { createWorkerLogging } from '../../api/logging/worker.js';
import { ilmPolicy, ilmPolicyPath, indexTemplatePath, readIndexTemplate, savedObjectsPath } from './setup.js';

type Json = Record<string, unknown>;

/** Dotted leaf names of a document: `{"a.b":1,"c":{"d":2}}` → a.b, c.d (as Elasticsearch expands them). */
function fieldNames(document: Json, prefix = ''): string[] {
  return Object.entries(document).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? fieldNames(value as Json, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

/** Mapped leaf fields of the template: properties walked into dotted names, with their types. */
function mappedFields(properties: Json, prefix = ''): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [name, definition] of Object.entries(properties) as Array<[string, Json]>) {
    if (definition.properties)
      for (const [inner, type] of mappedFields(definition.properties as Json, `${prefix}${name}.`)) fields.set(inner, type);
    else if (definition.type !== 'object') fields.set(`${prefix}${name}`, definition.type as string);
  }
  return fields;
}

const template = readIndexTemplate() as {
  index_patterns: string[];
  data_stream: Json;
  template: { settings: Json; mappings: { properties: Json } };
};
const mapped = mappedFields(template.template.mappings.properties);

/** Every kind of line the API writes: access (ok, 4xx, 5xx), plain, error, and each shipper report. */
async function everyKindOfLine(): Promise<Json[]> {
  const chunks: string[] = [];
  const mock = new Mock();
  const answers: Array<(lines: number) => Record<string, unknown> | errors.ResponseError> = [
    () =>
      new errors.ResponseError({
        body: { error: { type: 'es_rejected_execution_exception' }, status: 429 },
        statusCode: 429,
        headers: {},
        warnings: null,
        meta: {} as never,
      }),
    (lines) => ({
      errors: true,
      items: Array.from({ length: lines }, (_, index) => ({
        create: index === 0 ? { status: 400, error: { type: 'document_parsing_exception', reason: 'bad' } } : { status: 201 },
      })),
    }),
    () => ({ errors: false, items: [] }),
  ];
  mock.add({ method: 'POST', path: '/logs-api-default/_bulk' }, (params) => {
    const lines = (params.body as unknown[]).length / 2;
    return (
      answers.shift() ??
      ((count: number): Record<string, unknown> => ({
        errors: false,
        items: Array.from({ length: count }, () => ({ create: { status: 201 } })),
      }))
    )(lines);
  });
  const client = new Client({ node: 'http://127.0.0.1:9200', Connection: mock.getConnection(), maxRetries: 0 });
  const appLogger = createNodeLogging(
    {
      level: 'info',
      serviceName: 'api',
      serviceVersion: '1.0.0',
      environment: 'production',
      elasticsearch: {
        url: 'http://127.0.0.1:9200',
        dataStream: 'logs-api-default',
        maxBufferBytes: 4000,
        maxBatchBytes: 3000,
        flushIntervalMs: 10_000,
      },
    },
    {
      stdout: { write: (chunk: string) => void chunks.push(chunk) },
      elasticsearchClient: client,
      shipper: { minBackoffMs: 1, maxBackoffMs: 2 },
    },
  );
  const app = new Hono();
  app.use(requestId());
  app.use(accessLog({ logger: appLogger.logger }));
  app.get('/api/users/:id', (c) => c.json({}));
  app.get('/api/boom', () => {
    throw new Error('boom');
  });
  app.onError((_error, c) => c.json({ error: { code: 'internal_error', message: 'Internal server error' } }, 500));
  await app.request('/api/users/1', {
    headers: { 'user-agent': 'test', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  });
  await app.request('/api/boom');
  await app.request('/nowhere');
  appLogger.logger.info({ url: 'http://localhost:3000' }, 'listening');
  appLogger.logger.warn('plain');
  appLogger.logger.info({ padding: 'x'.repeat(3000) }, 'too large for a batch');
  await appLogger.flush(5_000); // 429 (failing report), then item 400 (rejected report), then recovered
  for (let n = 0; n < 40; n++) appLogger.logger.info({ n }, 'fill the buffer'); // buffer_full report
  await appLogger.flush(5_000); // bad_response (0 items for N lines)
  appLogger.logger.info('buffer accepts again'); // "accepts lines again" report
  await appLogger.close(5_000);
  const workerLines: string[] = [];
  const worker = createWorkerLogging({ level: 'info', serviceName: 'api' }, { console: (line) => workerLines.push(line) });
  worker.logger.error({ err: new Error('worker boom'), 'user.id': '1' }, 'worker');
  return [...chunks.join('').split('\n'), ...workerLines].filter(Boolean).map((line) => JSON.parse(line) as Json);
}

describe('index template', () => {
  it('is a data stream template for logs-api-* bound to the ILM policy, above the built-in logs template', () => {
    expect(template.index_patterns).toEqual(['logs-api-*']);
    expect(template.data_stream).toEqual({});
    expect(template.template.settings['index.lifecycle.name']).toBe('logs-api');
    expect((template as unknown as { priority: number }).priority).toBeGreaterThan(100);
  });

  it('maps every field the loggers write, and maps nothing they never write', async () => {
    const lines = await everyKindOfLine();
    const emitted = new Set(lines.flatMap((line) => fieldNames(line)));
    // Fields of this test's own log calls, left to dynamic mapping like any application field.
    const applicationFields = new Set(['n', 'padding', 'labels.url']);
    const unmapped = [...emitted].filter((field) => !mapped.has(field) && !applicationFields.has(field));
    expect(unmapped).toEqual([]);
    expect([...mapped.keys()].filter((field) => !emitted.has(field))).toEqual([]);
  });

  it('gives numbers, dates and identifiers the types Kibana needs', () => {
    expect(mapped.get('@timestamp')).toBe('date');
    expect(mapped.get('event.duration')).toBe('long');
    expect(mapped.get('http.response.status_code')).toBe('long');
    for (const keyword of ['log.level', 'user.id', 'trace.id', 'service.name', 'http.request.method', 'error.type'])
      expect(mapped.get(keyword)).toBe('keyword');
  });

  it('is valid JSON on disk', () => {
    expect(() => JSON.parse(readFileSync(indexTemplatePath, 'utf8'))).not.toThrow();
    expect(() => JSON.parse(readFileSync(ilmPolicyPath, 'utf8'))).not.toThrow();
  });
});

describe('ILM policy', () => {
  it('rolls over in the hot phase and deletes after the configured age', () => {
    const { policy } = ilmPolicy(14) as { policy: { phases: Record<string, { min_age: string; actions: Json }> } };
    expect(policy.phases.hot!.actions.rollover).toMatchObject({ max_age: '1d' });
    expect(policy.phases.delete).toEqual({ min_age: '14d', actions: { delete: {} } });
  });
});

describe('Kibana saved objects', () => {
  const objects = readFileSync(savedObjectsPath, 'utf8')
    .trimEnd()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as { type: string; id: string; attributes: Json; references: Array<{ type: string; id: string; name: string }> },
    );
  const byKey = new Map(objects.map((object) => [`${object.type}:${object.id}`, object]));
  const searchSource = (object: { attributes: Json }) =>
    JSON.parse((object.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as {
      query: { query: string; language: string };
    };

  it('is NDJSON of saved objects whose references all resolve inside the file', () => {
    for (const object of objects) {
      expect(object).toMatchObject({ type: expect.any(String), id: expect.any(String), attributes: expect.any(Object) });
      for (const reference of object.references)
        expect(byKey.has(`${reference.type}:${reference.id}`), `${object.id} → ${reference.type}:${reference.id}`).toBe(true);
    }
  });

  it('has a data view on logs-api-* with @timestamp as time field', () => {
    expect(byKey.get('index-pattern:logs-api')?.attributes).toMatchObject({ title: 'logs-api-*', timeFieldName: '@timestamp' });
  });

  it('has the saved searches "Errors" (log.level: error) and "Requests of a user" (user.id)', () => {
    const errorsSearch = objects.find((object) => object.type === 'search' && object.attributes.title === 'Errors')!;
    expect(searchSource(errorsSearch).query).toEqual({ query: 'log.level: error', language: 'kuery' });
    const userSearch = objects.find((object) => object.type === 'search' && object.attributes.title === 'Requests of a user')!;
    expect(searchSource(userSearch).query.query).toContain('user.id');
  });

  it('has a dashboard whose panels all resolve', () => {
    const dashboard = objects.find((object) => object.type === 'dashboard')!;
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as Array<{ panelRefName: string }>;
    expect(panels.length).toBeGreaterThanOrEqual(3);
    for (const panel of panels) expect(dashboard.references.map((reference) => reference.name)).toContain(panel.panelRefName);
  });

  it('uses only fields the template maps, in queries, columns and aggregations', () => {
    const used = new Set<string>();
    for (const object of objects) {
      for (const column of (object.attributes.columns as string[] | undefined) ?? []) used.add(column);
      if (object.attributes.kibanaSavedObjectMeta)
        for (const match of searchSource(object).query.query.matchAll(/([\w.@]+)\s*:/g)) used.add(match[1]!);
      if (object.attributes.visState) {
        for (const agg of (JSON.parse(object.attributes.visState as string) as { aggs: Array<{ params: { field?: string } }> }).aggs)
          if (agg.params.field) used.add(agg.params.field);
      }
      if (object.attributes.timeFieldName) used.add(object.attributes.timeFieldName as string);
    }
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((field) => !mapped.has(field))).toEqual([]);
  });
});
