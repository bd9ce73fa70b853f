// Every error leaves the API as JSON `{ "error": { "code", "message" } }` with the right status.
// Handlers throw `ApiError`; Hono's own `HTTPException`s (malformed JSON, …) are mapped by status; an
// unreachable database is a 503; anything else is a 500 whose details stay in the log, never in the response.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from './db/errors.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const codeByStatus: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

export function errorJson(c: Context, status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
  return c.json<ErrorBody>({ error: { code, message } }, status, headers);
}

export function errorHandler(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return errorJson(c, error.status, error.code, error.message, error.headers);
    if (error instanceof HTTPException && error.status < 500) {
      return errorJson(c, error.status, codeByStatus[error.status] ?? 'error', error.message || 'Request refused');
    }
    if (isDatabaseUnavailable(error)) {
      logger.error({ err: error, requestId: c.get('requestId'), method: c.req.method, path: c.req.path }, 'database unavailable');
      return errorJson(c, 503, 'unavailable', 'Database unavailable; retry later', { 'Retry-After': '5' });
    }
    logger.error({ err: error, requestId: c.get('requestId'), method: c.req.method, path: c.req.path }, 'unhandled error');
    return errorJson(c, 500, 'internal_error', 'Internal server error');
  };
}

export const notFoundHandler: NotFoundHandler = (c) => errorJson(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`);
