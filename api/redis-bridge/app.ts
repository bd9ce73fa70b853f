// An Upstash-REST-compatible HTTP bridge in front of a plain Redis server, speaking the protocol of
// `serverless-redis-http`: `POST /` with a JSON command array, `POST /pipeline` and `POST /multi-exec`
// with an array of command arrays, bearer-token auth, and `Upstash-Encoding: base64` responses.
// It lets `@upstash/redis` (which only speaks HTTP) run against OSS Redis 7 locally and in tests.
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';

/** The slice of a Redis TCP client the bridge needs; node-redis' `createClient()` satisfies it. */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
  multi(): { addCommand(args: string[]): unknown; exec(): Promise<unknown[]> };
}

export interface RedisBridgeOptions {
  client: RedisCommandClient;
  token: string;
  /** Largest accepted request body; Upstash's own limit is far above what tests need. */
  maxBodyBytes?: number;
}

type RestReply = { result: unknown } | { error: string };

const textEncoder = new TextEncoder();

function toBase64(value: string): string {
  const bytes = textEncoder.encode(value);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Upstash encodes every string of a reply in base64 except the status reply "OK", which clients
 * special-case; a bulk string "OK" encoded as base64 decodes to the same value, so one rule serves both.
 */
function encodeReply(value: unknown, base64: boolean): unknown {
  if (typeof value === 'string') return base64 && value !== 'OK' ? toBase64(value) : value;
  if (Array.isArray(value)) return value.map((item) => encodeReply(item, base64));
  if (value instanceof Map) return [...value.entries()].flat().map((item) => encodeReply(item, base64));
  if (typeof value === 'bigint') return Number(value);
  return value ?? null;
}

function isCommand(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0 && value.every((part) => ['string', 'number', 'boolean'].includes(typeof part));
}

function normalizeCommand(command: unknown[]): string[] {
  return command.map((part) => String(part));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createRedisBridgeApp({ client, token, maxBodyBytes = 10 * 1024 * 1024 }: RedisBridgeOptions): Hono {
  const app = new Hono();

  app.get('/', (c) => c.json({ result: 'upstash-rest-bridge' }));
  app.use('*', bearerAuth({ token, noAuthenticationHeader: { message: { error: 'Unauthorized' } }, invalidTokenMessage: { error: 'Unauthorized' } }));

  const readJson = async (request: Request): Promise<unknown> => {
    const length = Number(request.headers.get('content-length') ?? '0');
    if (length > maxBodyBytes) throw new RangeError('request body too large');
    const text = await request.text();
    if (text.length > maxBodyBytes) throw new RangeError('request body too large');
    return JSON.parse(text);
  };

  const run = async (command: string[], base64: boolean): Promise<RestReply> => {
    try {
      return { result: encodeReply(await client.sendCommand(command), base64) };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  };

  app.post('/', async (c) => {
    const base64 = c.req.header('upstash-encoding') === 'base64';
    let body: unknown;
    try {
      body = await readJson(c.req.raw);
    } catch (error) {
      return c.json({ error: `ERR invalid request body: ${errorMessage(error)}` }, 400);
    }
    if (!isCommand(body)) return c.json({ error: 'ERR the body must be a non-empty JSON array of strings' }, 400);
    const reply = await run(normalizeCommand(body), base64);
    return c.json(reply, 'error' in reply ? 400 : 200);
  });

  app.post('/pipeline', async (c) => {
    const base64 = c.req.header('upstash-encoding') === 'base64';
    let body: unknown;
    try {
      body = await readJson(c.req.raw);
    } catch (error) {
      return c.json({ error: `ERR invalid request body: ${errorMessage(error)}` }, 400);
    }
    if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
      return c.json({ error: 'ERR the body must be a non-empty JSON array of command arrays' }, 400);
    }
    // node-redis pipelines commands sent without awaiting each other on one connection, in order.
    const replies = await Promise.all(body.map((command) => run(normalizeCommand(command), base64)));
    return c.json(replies);
  });

  app.post('/multi-exec', async (c) => {
    const base64 = c.req.header('upstash-encoding') === 'base64';
    let body: unknown;
    try {
      body = await readJson(c.req.raw);
    } catch (error) {
      return c.json({ error: `ERR invalid request body: ${errorMessage(error)}` }, 400);
    }
    if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
      return c.json({ error: 'ERR the body must be a non-empty JSON array of command arrays' }, 400);
    }
    const transaction = client.multi();
    for (const command of body) transaction.addCommand(normalizeCommand(command));
    try {
      const replies = await transaction.exec();
      return c.json(replies.map((reply) => (reply instanceof Error ? { error: reply.message } : { result: encodeReply(reply, base64) })));
    } catch (error) {
      // node-redis raises MultiErrorReply when a queued command failed at EXEC time; it keeps the replies.
      const replies = (error as { replies?: unknown[] }).replies;
      if (Array.isArray(replies)) {
        return c.json(replies.map((reply) => (reply instanceof Error ? { error: reply.message } : { result: encodeReply(reply, base64) })));
      }
      return c.json({ error: errorMessage(error) }, 400);
    }
  });

  return app;
}
