// The shipped Workers settings: every API isolate pushes its own `instance="worker-<uuid>"` group and
// isolates come and go without saying goodbye, so the gateway Worker must expire groups nobody pushes
// any more, with a TTL long enough that a live isolate's group never lapses between its pushes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../api/config.js';
import { createGatewayApp } from './app.js';
import { loadGatewayConfig } from './config/gateway.js';
import { memoryStoreOptions } from './store/create.js';
import { MemoryStore } from './store/memory.js';

/** The `KEY = "value"` lines of a wrangler.toml's [vars] table (all our vars are strings). */
function wranglerVars(path: string): Record<string, string> {
  const text = readFileSync(resolve(import.meta.dirname, path), 'utf8');
  const table = text.split(/^\[vars\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  return Object.fromEntries([...table.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)].map((match) => [match[1]!, match[2]!]));
}

const gatewayConfig = loadGatewayConfig(wranglerVars('wrangler.toml'));
const apiPushIntervalMs = loadConfig(wranglerVars('../wrangler.toml')).pushIntervalMs;

describe('pushgateway/wrangler.toml', () => {
  it('expires groups, after several of the API Worker push intervals', () => {
    expect(gatewayConfig.groupTtlSeconds).toBeGreaterThan(0);
    expect(gatewayConfig.groupTtlSeconds * 1000).toBeGreaterThanOrEqual(10 * apiPushIntervalMs);
  });

  it("drops a dead isolate's group after the TTL and keeps a live one's", async () => {
    let now = 1_700_000_000_000;
    const app = createGatewayApp({ store: new MemoryStore(memoryStoreOptions(gatewayConfig)), config: gatewayConfig, clock: () => now });
    const push = (instance: string) =>
      app.request(`/metrics/job/api/instance/${instance}`, {
        method: 'PUT',
        body: '# TYPE http_requests_total counter\nhttp_requests_total 1\n',
      });
    expect((await push('worker-dead')).status).toBe(200);
    const end = now + gatewayConfig.groupTtlSeconds * 1000 + apiPushIntervalMs;
    for (; now <= end; now += apiPushIntervalMs) expect((await push('worker-live')).status).toBe(200);
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('instance="worker-live"');
    expect(text).not.toContain('instance="worker-dead"');
  });
});
