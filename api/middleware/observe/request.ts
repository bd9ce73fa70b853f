// What the observe middleware reads from a request, cheaply on both runtimes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { routePath } from 'hono/route';

export interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

/**
 * The raw Node request and response when @hono/node-server serves the app. Reading a header through
 * `c.req.header()` there builds a Headers view of the request, and a header set through `c.header()` makes
 * every response go through `new Headers()` and back, both more than the rest of a small request costs.
 */
export function nodeBindings(env: unknown): NodeBindings | undefined {
  const bindings = env as Partial<NodeBindings> | undefined;
  const outgoing = bindings?.outgoing;
  return bindings?.incoming?.headers !== undefined && typeof outgoing?.setHeader === 'function' ? (bindings as NodeBindings) : undefined;
}

/** A request header (lower-case name) from the raw Node request, else from the Fetch Request (Workers, tests). */
export function requestHeader(request: Request, node: NodeBindings | undefined, lowerName: string): string | undefined {
  if (node) {
    const value = node.incoming.headers[lowerName];
    return typeof value === 'string' ? value : undefined;
  }
  return request.headers.get(lowerName) ?? undefined;
}

const traceparentPattern = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const zeroTraceId = '0'.repeat(32);

/** The W3C `traceparent` trace id when the caller sent a valid one, else the request id. */
export function traceIdOf(traceparent: string | undefined, requestId: string | undefined): string | undefined {
  if (traceparent) {
    const match = traceparentPattern.exec(traceparent.trim().toLowerCase());
    if (match && match[1] !== zeroTraceId) return match[1];
  }
  return requestId;
}

/**
 * The user a request concerns, for `user.id` ("all requests of one user" in Kibana): the authenticated user a
 * middleware set as `c.var.userId`, else the `:id` of `/api/users/:id…` or the `:userId` of any route.
 */
export function defaultUserId(c: Context): string | undefined {
  const fromAuth = c.get('userId' as never) as unknown;
  if (typeof fromAuth === 'string' || typeof fromAuth === 'number') return String(fromAuth);
  // '' for a request no route matched (hono/route; `c.req.routePath` throws there).
  const route = routePath(c);
  if (route.startsWith('/api/users/:id')) return c.req.param('id');
  if (route.includes(':userId')) return c.req.param('userId');
  return undefined;
}
