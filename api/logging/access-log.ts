// The access line alone, as a middleware, for apps that bring their own request id (it reads `c.var.requestId`).
// The API observes around `app.fetch` instead (`observeApp`, api/middleware/observe), which gives the request
// id, metrics and this line at once and keeps routes without middleware synchronous.
import type { MiddlewareHandler } from 'hono';
import { type AccessLogOptions, observe } from '../middleware/observe/index.js';

export type { AccessLogOptions } from '../middleware/observe/index.js';

export function accessLog(options: AccessLogOptions): MiddlewareHandler {
  return observe({ requestId: false, accessLog: options });
}
