// Redis gauges from INFO, sent through the Upstash REST protocol (`POST /` with a JSON command array), the only
// way the app talks to Redis (Upstash itself, or our bridge in front of OSS Redis). Plain fetch: INFO is not
// among @upstash/redis' typed commands.
import type { ApiMetrics } from '../metrics.js';
import type { Collector } from './scheduler.js';

/** Reads `name:value` fields from an INFO reply. */
export function parseRedisInfo(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator > 0 && !line.startsWith('#')) fields.set(line.slice(0, separator), line.slice(separator + 1).trim());
  }
  return fields;
}

export function redisCollector(
  metrics: ApiMetrics,
  { url, token, timeoutMs = 2_000 }: { url: string; token: string; timeoutMs?: number },
): Collector {
  return {
    name: 'redis',
    async collect() {
      const response = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(['INFO']),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const reply = (await response.json().catch(() => ({}))) as { result?: unknown; error?: string };
      if (!response.ok || typeof reply.result !== 'string')
        throw new Error(`INFO failed: HTTP ${response.status}${reply.error ? ` ${reply.error}` : ''}`);
      const info = parseRedisInfo(reply.result);
      const clients = Number(info.get('connected_clients'));
      const memory = Number(info.get('used_memory'));
      if (Number.isFinite(clients)) metrics.redisConnectedClients.set(clients);
      if (Number.isFinite(memory)) metrics.redisMemoryUsageBytes.set(memory);
    },
  };
}
