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
  app.use(
    '*',
    bearerAuth({ token, noAuthenticationHeader: { message: { error: 'Unauthorized' } }, invalidTokenMessage: { error: 'Unauthorized' } }),
  );

  /** Parses a request body as JSON within the size limit; a string is the error message for a 400. */
  const readJson = async (request: Request): Promise<{ body: unknown } | { invalid: string }> => {
    const length = Number(request.headers.get('content-length') ?? '0');
    if (length > maxBodyBytes) return { invalid: 'ERR invalid request body: request body too large' };
    const text = await request.text();
    if (text.length > maxBodyBytes) return { invalid: 'ERR invalid request body: request body too large' };
    try {
      return { body: JSON.parse(text) };
    } catch (error) {
      return { invalid: `ERR invalid request body: ${errorMessage(error)}` };
    }
  };

  /** Reads a batch body (`/pipeline`, `/multi-exec`): a non-empty array of command arrays. */
  const readCommands = async (request: Request): Promise<{ commands: string[][] } | { invalid: string }> => {
    const parsed = await readJson(request);
    if ('invalid' in parsed) return parsed;
    const { body } = parsed;
    if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
      return { invalid: 'ERR the body must be a non-empty JSON array of command arrays' };
    }
    return { commands: body.map(normalizeCommand) };
  };

  const wantsBase64 = (request: Request) => request.headers.get('upstash-encoding') === 'base64';

  const toRestReplies = (replies: unknown[], base64: boolean): RestReply[] =>
    replies.map((reply) => (reply instanceof Error ? { error: reply.message } : { result: encodeReply(reply, base64) }));

  const run = async (command: string[], base64: boolean): Promise<RestReply> => {
    try {
      return { result: encodeReply(await client.sendCommand(command), base64) };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  };

  app.post('/', async (c) => {
    const parsed = await readJson(c.req.raw);
    if ('invalid' in parsed) return c.json({ error: parsed.invalid }, 400);
    if (!isCommand(parsed.body)) return c.json({ error: 'ERR the body must be a non-empty JSON array of strings' }, 400);
    const reply = await run(normalizeCommand(parsed.body), wantsBase64(c.req.raw));
    return c.json(reply, 'error' in reply ? 400 : 200);
  });

  app.post('/pipeline', async (c) => {
    const parsed = await readCommands(c.req.raw);
    if ('invalid' in parsed) return c.json({ error: parsed.invalid }, 400);
    const base64 = wantsBase64(c.req.raw);
    // node-redis pipelines commands sent without awaiting each other on one connection, in order.
    return c.json(await Promise.all(parsed.commands.map((command) => run(command, base64))));
  });

  app.post('/multi-exec', async (c) => {
    const parsed = await readCommands(c.req.raw);
    if ('invalid' in parsed) return c.json({ error: parsed.invalid }, 400);
    const base64 = wantsBase64(c.req.raw);
    const transaction = client.multi();
    for (const command of parsed.commands) transaction.addCommand(command);
    try {
      return c.json(toRestReplies(await transaction.exec(), base64));
    } catch (error) {
      // node-redis raises MultiErrorReply when a queued command failed at EXEC time; it keeps the replies.
      const replies = (error as { replies?: unknown[] }).replies;
      if (Array.isArray(replies)) return c.json(toRestReplies(replies, base64));
      return c.json({ error: errorMessage(error) }, 400);
    }
  });

  return app;
}
