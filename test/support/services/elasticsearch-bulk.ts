// An Elasticsearch 8 stand-in for tests, on 127.0.0.1: the wire protocol the log shipper and setup script
// use, answered the way a real 8.19 cluster answers (Elasticsearch itself cannot run on these machines).
// - `GET /` cluster info and `x-elastic-product: Elasticsearch` on every answer (the client's product check);
// - `compatible-with=N` media types: 7 and 8 accepted, anything else refused with 400 like the server does;
// - `POST /_bulk`, `POST /<target>/_bulk`: NDJSON in, `{took, errors, items}` out, one item per action with
//   its own status, `filter_path` applied as the server applies it; data streams (`logs-*-*`) take only
//   `create` and documents with `@timestamp`;
// - faults on demand: the next N items answered 429/400/…, the next N requests answered 429/503, the server
//   taken down (connections refused) and brought back on the same port;
// - `PUT/GET /_ilm/policy/<name>`, `/_index_template/<name>`, `/_component_template/<name>` for the setup script;
// - optional API-key / basic auth, answered 401 `security_exception` when wrong.
// Also a Kibana stand-in for `POST /api/saved_objects/_import` (multipart NDJSON, `kbn-xsrf` required).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './process.js';

export interface StoredDocument {
  _index: string;
  _id: string;
  source: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ElasticsearchStandIn {
  url: string;
  port: number;
  /** Documents stored in a data stream or index (by the name written to, e.g. `logs-api-default`). */
  documents(target: string): Record<string, unknown>[];
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** The next `count` bulk items are answered with `status` (429 → es_rejected_execution_exception). */
  failNextItems(status: number, count: number): void;
  /** The next `count` requests (of any kind except `GET /`) are answered with `status` as a whole. */
  failNextRequests(status: number, count: number): void;
  /** Stops listening and cuts open connections: clients get ECONNREFUSED / resets. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  templates: Map<string, Record<string, unknown>>;
  componentTemplates: Map<string, Record<string, unknown>>;
  ilmPolicies: Map<string, Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface ElasticsearchStandInOptions {
  /** Require `Authorization: ApiKey <apiKey>`. */
  apiKey?: string;
  /** Require basic auth. */
  basic?: { username: string; password: string };
}

const version = {
  number: '8.19.3',
  build_flavor: 'default',
  build_type: 'docker',
  build_hash: '0000000000000000000000000000000000000000',
  build_date: '2025-08-26T00:00:00.000Z',
  build_snapshot: false,
  lucene_version: '9.12.2',
  minimum_wire_compatibility_version: '7.17.0',
  minimum_index_compatibility_version: '7.0.0',
};

const errorTypeByStatus: Record<number, string> = {
  400: 'document_parsing_exception',
  403: 'cluster_block_exception',
  409: 'version_conflict_engine_exception',
  429: 'es_rejected_execution_exception',
  500: 'internal_server_error',
  503: 'unavailable_shards_exception',
};

function esError(status: number, type: string, reason: string) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

/** `logs-*-*` is a data stream in a default 8.x cluster (built-in `logs` template), as are templated ones. */
function isDataStream(target: string, templates: Map<string, Record<string, unknown>>): boolean {
  if (/^logs-[^-]+-.+$/.test(target)) return true;
  for (const template of templates.values()) {
    const patterns = (template.index_patterns as string[] | undefined) ?? [];
    const matches = patterns.some((pattern) => new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`).test(target));
    if (matches && template.data_stream !== undefined) return true;
  }
  return false;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function backingIndex(target: string): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '.');
  return `.ds-${target}-${day}-000001`;
}

interface BulkResponse {
  errors: boolean;
  took: number;
  items: Array<Record<string, Record<string, unknown>>>;
}

/**
 * `filter_path` as Elasticsearch applies it to a bulk response, for the paths a bulk client asks for:
 * `errors`, `took`, `items.*.<field>` and `items.*.error.<field>` (others are left out, as they would be).
 */
function filterBulkResponse(response: BulkResponse, filterPath: string): Record<string, unknown> {
  const paths = filterPath.split(',').map((path) => path.trim());
  const filtered: Record<string, unknown> = {};
  if (paths.includes('errors')) filtered.errors = response.errors;
  if (paths.includes('took')) filtered.took = response.took;
  const itemFields = paths.filter((path) => path.startsWith('items.*.')).map((path) => path.slice('items.*.'.length).split('.'));
  if (itemFields.length > 0) {
    filtered.items = response.items.map((item) => {
      const [op, result] = Object.entries(item)[0]!;
      const kept: Record<string, unknown> = {};
      for (const [field, inner] of itemFields) {
        const value = result[field!];
        if (value === undefined) continue;
        if (inner === undefined) kept[field!] = value;
        else if (typeof value === 'object' && value !== null && (value as Record<string, unknown>)[inner] !== undefined) {
          kept[field!] = { ...(kept[field!] as object | undefined), [inner]: (value as Record<string, unknown>)[inner] };
        }
      }
      return { [op]: kept };
    });
  }
  return filtered;
}

/** The major a `compatible-with=N` media type asks for, or undefined without one. */
function compatibleWith(header: string | undefined): number | undefined {
  const match = /compatible-with=(\d+)/.exec(header ?? '');
  return match ? Number(match[1]) : undefined;
}

export async function startElasticsearchStandIn(options: ElasticsearchStandInOptions = {}): Promise<ElasticsearchStandIn> {
  const port = await freePort();
  const stored = new Map<string, StoredDocument[]>();
  const requests: RecordedRequest[] = [];
  const itemFaults: number[] = [];
  const requestFaults: number[] = [];
  const templates = new Map<string, Record<string, unknown>>();
  const componentTemplates = new Map<string, Record<string, unknown>>();
  const ilmPolicies = new Map<string, Record<string, unknown>>();
  let nextId = 1;
  let seqNo = 0;

  const send = (res: ServerResponse, status: number, body: unknown, compatible: number | undefined) => {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': compatible ? `application/vnd.elasticsearch+json;compatible-with=${compatible}` : 'application/json',
      'x-elastic-product': 'Elasticsearch',
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  };

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization;
    if (options.apiKey) return header === `ApiKey ${options.apiKey}`;
    if (options.basic) {
      return header === `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString('base64')}`;
    }
    return true;
  };

  const bulk = (target: string | undefined, body: string) => {
    const started = Date.now();
    const lines = body.split('\n');
    if (lines.at(-1) === '') lines.pop();
    else return { status: 400, body: esError(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]') };
    const items: Record<string, unknown>[] = [];
    for (let index = 0; index < lines.length; index++) {
      let action: Record<string, { _index?: string; _id?: string }>;
      try {
        action = JSON.parse(lines[index]!);
      } catch {
        return { status: 400, body: esError(400, 'x_content_parse_exception', `Malformed action/metadata line [${index + 1}]`) };
      }
      const op = Object.keys(action)[0];
      if (!op || !['index', 'create', 'update', 'delete'].includes(op)) {
        return {
          status: 400,
          body: esError(
            400,
            'illegal_argument_exception',
            `Malformed action/metadata line [${index + 1}], expected one of [create, delete, index, update] but found [${op}]`,
          ),
        };
      }
      const meta = action[op]!;
      const index_ = meta._index ?? target;
      if (!index_)
        return { status: 400, body: esError(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;') };
      const sourceLine = op === 'delete' ? undefined : lines[++index];
      const dataStream = isDataStream(index_, templates);
      const itemIndex = dataStream ? backingIndex(index_) : index_;
      const fault = itemFaults.shift();
      if (fault !== undefined) {
        const type = errorTypeByStatus[fault] ?? 'exception';
        items.push({ [op]: { _index: itemIndex, _id: null, status: fault, error: { type, reason: `injected ${type}` } } });
        continue;
      }
      if (dataStream && op !== 'create') {
        items.push({
          [op]: {
            _index: index_,
            _id: meta._id ?? null,
            status: 400,
            error: { type: 'illegal_argument_exception', reason: `only write ops with an op_type of create are allowed in data streams` },
          },
        });
        continue;
      }
      let source: Record<string, unknown>;
      try {
        source = JSON.parse(sourceLine ?? '');
        if (source === null || typeof source !== 'object' || Array.isArray(source)) throw new Error('not an object');
      } catch {
        items.push({
          [op]: {
            _index: itemIndex,
            _id: null,
            status: 400,
            error: { type: 'document_parsing_exception', reason: `[1:1] failed to parse` },
          },
        });
        continue;
      }
      if (dataStream && typeof source['@timestamp'] !== 'string' && typeof source['@timestamp'] !== 'number') {
        items.push({
          [op]: {
            _index: itemIndex,
            _id: null,
            status: 400,
            error: {
              type: 'document_parsing_exception',
              reason: '[1:1] failed to parse: data stream timestamp field [@timestamp] is missing',
            },
          },
        });
        continue;
      }
      const id = meta._id ?? `stand-in-${nextId++}`;
      const documents = stored.get(index_) ?? [];
      documents.push({ _index: itemIndex, _id: id, source });
      stored.set(index_, documents);
      items.push({
        [op]: {
          _index: itemIndex,
          _id: id,
          _version: 1,
          result: 'created',
          _shards: { total: 1, successful: 1, failed: 0 },
          _seq_no: seqNo++,
          _primary_term: 1,
          status: 201,
        },
      });
    }
    const errors = items.some((item) => (Object.values(item)[0] as { status: number }).status >= 300);
    return { status: 200, body: { errors, took: Date.now() - started, items } };
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    requests.push({ method, path: url.pathname + url.search, headers: req.headers, body });
    const accept = compatibleWith(req.headers.accept);
    const contentType = compatibleWith(req.headers['content-type']);
    for (const requested of [accept, contentType]) {
      if (requested !== undefined && requested !== 7 && requested !== 8) {
        return send(
          res,
          400,
          esError(
            400,
            'media_type_header_exception',
            `Invalid media-type value on headers [Accept, Content-Type]: compatible-with=${requested} is not supported; accepted versions are 7 and 8`,
          ),
          undefined,
        );
      }
    }
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'ApiKey, Basic realm="security"');
      return send(
        res,
        401,
        esError(401, 'security_exception', `missing authentication credentials for REST request [${url.pathname}]`),
        accept,
      );
    }
    if (method === 'GET' && url.pathname === '/') {
      return send(
        res,
        200,
        { name: 'stand-in', cluster_name: 'stand-in', cluster_uuid: 'stand-in', version, tagline: 'You Know, for Search' },
        accept,
      );
    }
    const fault = requestFaults.shift();
    if (fault !== undefined) {
      const type = errorTypeByStatus[fault] ?? 'exception';
      return send(res, fault, esError(fault, type, `injected ${type}`), accept);
    }
    const bulkPath = /^\/(?:([^/_][^/]*)\/)?_bulk$/.exec(url.pathname);
    if (bulkPath && (method === 'POST' || method === 'PUT')) {
      if (!req.headers['content-type']) return send(res, 406, { error: 'Content-Type header is missing', status: 406 }, accept);
      const outcome = bulk(bulkPath[1] ? decodeURIComponent(bulkPath[1]) : undefined, body);
      const filterPath = url.searchParams.get('filter_path');
      return send(
        res,
        outcome.status,
        outcome.status === 200 && filterPath ? filterBulkResponse(outcome.body as BulkResponse, filterPath) : outcome.body,
        accept,
      );
    }
    const setting = /^\/(_ilm\/policy|_index_template|_component_template)\/([^/]+)$/.exec(url.pathname);
    if (setting) {
      const store = setting[1] === '_ilm/policy' ? ilmPolicies : setting[1] === '_index_template' ? templates : componentTemplates;
      const name = decodeURIComponent(setting[2]!);
      if (method === 'PUT') {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(body);
        } catch {
          return send(res, 400, esError(400, 'parse_exception', 'request body is required and must be JSON'), accept);
        }
        if (setting[1] === '_ilm/policy' && (typeof parsed.policy !== 'object' || parsed.policy === null)) {
          return send(res, 400, esError(400, 'x_content_parse_exception', '[put_lifecycle_request] policy is required'), accept);
        }
        if (setting[1] === '_index_template' && !Array.isArray(parsed.index_patterns)) {
          return send(
            res,
            400,
            esError(400, 'action_request_validation_exception', 'Validation Failed: 1: index patterns are missing;'),
            accept,
          );
        }
        store.set(name, parsed);
        return send(res, 200, { acknowledged: true }, accept);
      }
      if (method === 'GET') {
        const found = store.get(name);
        if (!found) return send(res, 404, esError(404, 'resource_not_found_exception', `${name} not found`), accept);
        if (setting[1] === '_ilm/policy') return send(res, 200, { [name]: { version: 1, policy: found.policy } }, accept);
        const key = setting[1] === '_index_template' ? 'index_templates' : 'component_templates';
        const inner = setting[1] === '_index_template' ? 'index_template' : 'component_template';
        return send(res, 200, { [key]: [{ name, [inner]: found }] }, accept);
      }
    }
    return send(
      res,
      404,
      esError(404, 'index_not_found_exception', `no such endpoint [${method} ${url.pathname}] in the stand-in`),
      accept,
    );
  };

  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const close = async () => {
    if (!server) return;
    const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closing;
    server = undefined;
  };
  await listen();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    documents: (target) => (stored.get(target) ?? []).map((document) => document.source),
    requests,
    failNextItems: (status, count) => itemFaults.push(...Array<number>(count).fill(status)),
    failNextRequests: (status, count) => requestFaults.push(...Array<number>(count).fill(status)),
    down: close,
    up: listen,
    templates,
    componentTemplates,
    ilmPolicies,
    stop: close,
  };
}

export interface KibanaStandIn {
  url: string;
  /** Saved objects imported, by `type:id`. */
  savedObjects: Map<string, Record<string, unknown>>;
  requests: RecordedRequest[];
  /** The next `count` requests are answered 503 "Kibana server is not ready yet", as while Kibana starts. */
  notReadyFor(count: number): void;
  stop(): Promise<void>;
}

/** `POST /api/saved_objects/_import?overwrite=true` as Kibana 8 answers it, plus `GET /api/status`. */
export async function startKibanaStandIn(): Promise<KibanaStandIn> {
  const port = await freePort();
  const savedObjects = new Map<string, Record<string, unknown>>();
  const requests: RecordedRequest[] = [];
  let notReady = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://kibana');
      requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, headers: req.headers, body: raw.toString('utf8') });
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (notReady > 0) {
        notReady--;
        return reply(503, { statusCode: 503, error: 'Service Unavailable', message: 'Kibana server is not ready yet' });
      }
      if (req.method === 'GET' && url.pathname === '/api/status') return reply(200, { status: { overall: { level: 'available' } } });
      if (req.method !== 'POST' || url.pathname !== '/api/saved_objects/_import')
        return reply(404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
      if (!req.headers['kbn-xsrf'])
        return reply(400, { statusCode: 400, error: 'Bad Request', message: 'Request must contain a kbn-xsrf header.' });
      let file: unknown;
      try {
        const form = await new Request(`http://kibana${req.url}`, {
          method: 'POST',
          headers: req.headers as Record<string, string>,
          body: raw,
        }).formData();
        file = form.get('file');
      } catch (error) {
        return reply(415, { statusCode: 415, error: 'Unsupported Media Type', message: String(error) });
      }
      if (!(file instanceof Blob))
        return reply(400, { statusCode: 400, error: 'Bad Request', message: '[request body.file]: expected value of type [Stream]' });
      const overwrite = url.searchParams.get('overwrite') === 'true';
      const successResults: Array<{ type: string; id: string }> = [];
      const errors: Array<{ type: string; id: string; error: { type: string } }> = [];
      for (const line of (await file.text()).split('\n')) {
        if (line.trim() === '') continue;
        let object: { type?: string; id?: string; exportedCount?: number };
        try {
          object = JSON.parse(line);
        } catch {
          return reply(400, { statusCode: 400, error: 'Bad Request', message: 'Unexpected token in JSON' });
        }
        if (object.exportedCount !== undefined) continue;
        if (!object.type || !object.id)
          return reply(400, { statusCode: 400, error: 'Bad Request', message: 'saved object without type or id' });
        const key = `${object.type}:${object.id}`;
        if (savedObjects.has(key) && !overwrite) {
          errors.push({ type: object.type, id: object.id, error: { type: 'conflict' } });
          continue;
        }
        savedObjects.set(key, object as Record<string, unknown>);
        successResults.push({ type: object.type, id: object.id });
      }
      return reply(200, {
        success: errors.length === 0,
        successCount: successResults.length,
        successResults,
        ...(errors.length ? { errors } : {}),
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    savedObjects,
    requests,
    notReadyFor: (count) => {
      notReady = count;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
