// Per-client rate limiting with @upstash/ratelimit (sliding window, state in Redis, so all instances
// share one budget per client). 429 with `Retry-After` when the budget is spent; `RateLimit-*` headers
// (IETF draft) on every limited route. If Redis fails or times out the request passes (fail open) and
// a log line says so: losing the limiter must not take the API down with it.
// @upstash/ratelimit is pinned to 2.0.8: from 2.1.0 its Lua scripts carry `#!lua flags=allow-key-locking`,
// which only Upstash understands — OSS Redis 7 refuses every script ("Unexpected flag in script shebang").
import type { Ratelimit } from '@upstash/ratelimit';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { ApiError } from './errors.js';

export interface RateLimitOptions {
  limiter: Ratelimit;
  /** The client's identity (its address); requests without one share the bucket "unknown". */
  identify: (c: Context) => string | undefined;
  logger: Logger;
}

/** Keeps analytics/sync work alive after the response on Workers; on Node there is no execution context. */
function keepAlive(c: Context, pending: Promise<unknown>): void {
  let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  try {
    waitUntil = c.executionCtx.waitUntil.bind(c.executionCtx);
  } catch {
    waitUntil = undefined;
  }
  const settled = pending.catch(() => {});
  if (waitUntil) waitUntil(settled);
}

export function rateLimit({ limiter, identify, logger }: RateLimitOptions): MiddlewareHandler {
  return async (c, next) => {
    const client = identify(c) ?? 'unknown';
    let result: Awaited<ReturnType<Ratelimit['limit']>>;
    try {
      result = await limiter.limit(client);
    } catch (error) {
      logger.warn({ err: error }, 'rate limiter unavailable; request allowed (fail open)');
      return await next();
    }
    keepAlive(c, result.pending);
    if (result.reason === 'timeout') {
      logger.warn('rate limiter timed out; request allowed (fail open)');
      return await next();
    }
    const resetSeconds = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
    const headers = {
      'RateLimit-Limit': String(result.limit),
      'RateLimit-Remaining': String(Math.max(0, result.remaining)),
      'RateLimit-Reset': String(resetSeconds),
    };
    if (!result.success) {
      throw new ApiError(429, 'rate_limited', `Too many requests; retry in ${resetSeconds} s`, {
        ...headers,
        'Retry-After': String(resetSeconds),
      });
    }
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    await next();
  };
}
