// Path ids: anything that is not a UUID cannot name a row, so it is a 404 before any query runs
// (PostgreSQL would otherwise reject the cast with an error).
import type { Context, Handler } from 'hono';
import { ApiError } from '../errors.js';
import { isUuid } from '../uuid.js';

export function pathId(c: Context, what: 'user' | 'task'): string {
  const id = c.req.param('id') ?? '';
  if (!isUuid(id)) throw new ApiError(404, 'not_found', `No ${what} with id "${id.slice(0, 64)}"`);
  return id.toLowerCase();
}

export function notFound(what: 'user' | 'task', id: string): ApiError {
  return new ApiError(404, 'not_found', `No ${what} with id "${id}"`);
}

/** For a known path with an unsupported method: 405 naming the allowed ones (RFC 9110 requires `Allow`). */
export function methodNotAllowed(allowed: string[]): Handler {
  return (c) => {
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allowed.join(', ')}`, {
      Allow: allowed.join(', '),
    });
  };
}
