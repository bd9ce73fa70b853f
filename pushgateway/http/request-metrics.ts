// pushgateway_http_requests_total{code,handler,method}: the gateway's own request counter, with the
// official gateway's handler names and lower-case methods, scrapes of /metrics excluded as there.
import type { MiddlewareHandler } from 'hono';
import { formatGoFloat } from '../core/float.js';
import { escapeLabelValue } from '../core/grouping.js';

export class RequestCounter {
  private readonly counts = new Map<string, number>();

  add(code: number, handler: string, method: string): void {
    const key = `code="${code}",handler="${escapeLabelValue(handler)}",method="${escapeLabelValue(method.toLowerCase())}"`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Sample lines, sorted (the family header is written by the caller). */
  lines(): string {
    let out = '';
    for (const key of [...this.counts.keys()].sort())
      out += `pushgateway_http_requests_total{${key}} ${formatGoFloat(this.counts.get(key)!)}\n`;
    return out;
  }
}

/** Names the handler of a request the way the official gateway labels it; undefined = not counted. */
export function handlerName(method: string, path: string): string | undefined {
  const bare = path.startsWith('/aggregate/') ? path.slice('/aggregate'.length) : path;
  const prefix = bare === path ? '' : 'aggregate/';
  if (bare.startsWith('/metrics/')) return method === 'DELETE' ? `${prefix}delete` : `${prefix}push`;
  if (path === '/metrics') return undefined;
  if (path === '/api/v1/admin/wipe') return 'wipe';
  if (path === '/api/v1/metrics') return 'api/v1/metrics';
  if (path === '/api/v1/status') return 'api/v1/status';
  if (path === '/-/healthy') return 'healthy';
  if (path === '/-/ready') return 'ready';
  return 'other';
}

export function requestCounting(counter: RequestCounter): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const handler = handlerName(c.req.method, c.req.path);
    if (handler !== undefined) counter.add(c.res.status, handler, c.req.method);
  };
}
