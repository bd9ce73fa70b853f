// The access line alone, for apps that bring their own request id (it reads `c.var.requestId`). The API's
// entries use `observe` (api/middleware/observe), which gives the request id, metrics and this line at once.
import type { MiddlewareHandler } from 'hono';
import { type AccessLogOptions, observe } from '../middleware/observe/index.js';

export type { AccessLogOptions } from '../middleware/observe/index.js';

export function accessLog(options: AccessLogOptions): MiddlewareHandler {
  return observe({ requestId: false, accessLog: options });
}
