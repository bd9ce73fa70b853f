// Push bodies for the gateway benchmark, in text format 0.0.4.

const methods = ['GET', 'POST', 'PUT'];
const statuses = ['200', '500'];

/**
 * 50 series as an instrumented API pushes them: 30 counter series (method × endpoint × status)
 * and 20 gauge series. Counter values are small positive numbers so the same body is a valid
 * delta in aggregation mode too.
 */
export function apiLikeBody(): string {
  const lines = ['# HELP bench_requests_total Requests handled.', '# TYPE bench_requests_total counter'];
  for (const method of methods) {
    for (let endpoint = 0; endpoint < 5; endpoint++) {
      for (const status of statuses) {
        lines.push(`bench_requests_total{method="${method}",endpoint="/api/items/${endpoint}",status="${status}"} ${endpoint + 1}`);
      }
    }
  }
  lines.push('# HELP bench_queue_depth Items waiting per queue.', '# TYPE bench_queue_depth gauge');
  for (let queue = 0; queue < 20; queue++) lines.push(`bench_queue_depth{queue="q${queue}"} ${queue * 3}`);
  return `${lines.join('\n')}\n`;
}

export const API_LIKE_SERIES = 50;

/** `count` series of one counter family, for filling a store to a given size. */
export function preloadBody(count: number, group: number): string {
  const lines = ['# HELP bench_preload_total Series loaded to make the store large.', '# TYPE bench_preload_total counter'];
  for (let series = 0; series < count; series++) lines.push(`bench_preload_total{shard="s${series}",source="g${group}"} ${series}`);
  return `${lines.join('\n')}\n`;
}
