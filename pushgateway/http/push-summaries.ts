// pushgateway_http_push_duration_seconds and pushgateway_http_push_size_bytes{method}: the official gateway's
// push summaries (handler/metrics.go: objectives 0.1, 0.5 and 0.9; client_golang's default 10-minute window),
// which Pushgateway dashboards plot. Quantiles are computed exactly over the observations of the last 10
// minutes, at most `maxWindow` per method (the oldest dropped first), so memory is bounded whatever the push rate;
// exact ranks over the window are within the official error bounds. Size is the approximate request size as
// client_golang's InstrumentHandlerRequestSize computes it: URL, method, protocol, headers, host and body length.
import type { MiddlewareHandler } from 'hono';
import { formatGoFloat } from '../core/float.js';
import { renderHeader, type ExpositionFormat } from '../core/exposition-format.js';
import type { BodyVariables } from './body.js';

const quantiles = [0.1, 0.5, 0.9] as const;
const windowMs = 10 * 60 * 1000;

class WindowedSummary {
  private readonly observations = new Map<string, { at: number[]; values: number[]; sum: number; count: number }>();

  constructor(private readonly maxWindow: number) {}

  observe(method: string, value: number, nowMs: number): void {
    let series = this.observations.get(method);
    if (!series) this.observations.set(method, (series = { at: [], values: [], sum: 0, count: 0 }));
    series.at.push(nowMs);
    series.values.push(value);
    if (series.values.length > this.maxWindow) {
      series.at.shift();
      series.values.shift();
    }
    series.sum += value;
    series.count += 1;
  }

  lines(name: string, nowMs: number): string {
    let out = '';
    for (const method of [...this.observations.keys()].sort()) {
      const series = this.observations.get(method)!;
      while (series.at.length > 0 && series.at[0]! < nowMs - windowMs) {
        series.at.shift();
        series.values.shift();
      }
      const sorted = [...series.values].sort((a, b) => a - b);
      for (const q of quantiles) {
        const value = sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
        out += `${name}{method="${method}",quantile="${q}"} ${formatGoFloat(value)}\n`;
      }
      out += `${name}_sum{method="${method}"} ${formatGoFloat(series.sum)}\n${name}_count{method="${method}"} ${formatGoFloat(series.count)}\n`;
    }
    return out;
  }
}

function approximateRequestSize(request: Request, bodyBytes: number): number {
  const url = new URL(request.url);
  let size = (url.pathname + url.search).length + request.method.length + 'HTTP/1.1'.length + url.host.length + bodyBytes;
  request.headers.forEach((value, name) => {
    size += name.length + value.length;
  });
  return size;
}

export class PushSummaries {
  private readonly duration: WindowedSummary;
  private readonly size: WindowedSummary;

  constructor(
    private readonly clock: () => number,
    maxWindow = 2048,
  ) {
    this.duration = new WindowedSummary(maxWindow);
    this.size = new WindowedSummary(maxWindow);
  }

  observe(method: string, seconds: number, bytes: number): void {
    const now = this.clock();
    this.duration.observe(method, seconds, now);
    this.size.observe(method, bytes, now);
  }

  /** Both families with headers; nothing for a summary without observations (as client_golang's SummaryVec). */
  render(format: ExpositionFormat): string {
    const now = this.clock();
    const duration = this.duration.lines('pushgateway_http_push_duration_seconds', now);
    const size = this.size.lines('pushgateway_http_push_size_bytes', now);
    if (duration === '') return '';
    return (
      renderHeader(
        { name: 'pushgateway_http_push_duration_seconds', help: 'HTTP request duration for pushes to the Pushgateway.', type: 'summary' },
        format,
      ) +
      duration +
      renderHeader(
        { name: 'pushgateway_http_push_size_bytes', help: 'HTTP request size for pushes to the Pushgateway.', type: 'summary' },
        format,
      ) +
      size
    );
  }

  /** Observes PUT and POST requests (the official instruments its push handler only); `timer` is monotonic. */
  middleware(timer: () => number = () => performance.now()): MiddlewareHandler<{ Variables: BodyVariables }> {
    return async (c, next) => {
      if (c.req.method !== 'PUT' && c.req.method !== 'POST') return await next();
      const started = timer();
      await next();
      const declared = Number(c.req.header('content-length') ?? Number.NaN);
      // pushBody is unset when the body reader refused the request before reading it whole.
      const body: Uint8Array | undefined = c.get('pushBody');
      const bodyBytes = Number.isFinite(declared) ? declared : (body?.byteLength ?? 0);
      this.observe(c.req.method.toLowerCase(), (timer() - started) / 1000, approximateRequestSize(c.req.raw, bodyBytes));
    };
  }
}
