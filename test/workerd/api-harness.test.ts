// The workerd harness itself: a throwaway Worker with vars and a SQLite-backed Durable Object, bundled by
// `wrangler deploy --dry-run` and run in real workerd, so the harness's promises (bindings from
// wrangler.toml, overrides, Durable Objects, captured console output, loopback URL) are checked once here.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { startWorker, type RunningWorker } from '../support/services/workerd.js';

const workerSource = `
import { DurableObject } from 'cloudflare:workers';
export class Counter extends DurableObject {
  async fetch() {
    const next = ((await this.ctx.storage.get('n')) ?? 0) + 1;
    await this.ctx.storage.put('n', next);
    return new Response(String(next));
  }
}
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/count') return env.COUNTER.get(env.COUNTER.idFromName('one')).fetch(request);
    console.log('handled ' + pathname);
    const start = process.hrtime.bigint();
    return Response.json({ greeting: env.GREETING, secret: env.EXTRA, hrtimeForward: process.hrtime.bigint() >= start });
  },
};
`;

const wranglerToml = `
name = "harness-fixture"
main = "worker.js"
compatibility_date = "2026-04-20"
compatibility_flags = ["nodejs_compat"]

[vars]
GREETING = "from wrangler.toml"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
`;

describe('workerd harness', () => {
  let dir: string;
  let worker: RunningWorker;

  beforeAll(async () => {
    dir = makeTempDir('workerd-fixture');
    writeFileSync(join(dir, 'worker.js'), workerSource);
    writeFileSync(join(dir, 'wrangler.toml'), wranglerToml);
    worker = await startWorker({ config: join(dir, 'wrangler.toml'), bindings: { EXTRA: 'override' } });
  });
  afterAll(async () => {
    await worker?.stop();
    if (dir) removeDir(dir);
  });

  it('serves on loopback with vars from wrangler.toml plus overrides, under nodejs_compat', async () => {
    expect(new URL(worker.url).hostname).toBe('127.0.0.1');
    const response = await fetch(new URL('/hello', worker.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ greeting: 'from wrangler.toml', secret: 'override', hrtimeForward: true });
  });

  it('runs Durable Objects with their storage', async () => {
    const first = await worker.dispatchFetch('http://worker/count');
    const second = await worker.dispatchFetch('http://worker/count');
    expect(await first.text()).toBe('1');
    expect(await second.text()).toBe('2');
  });

  it('captures what the Worker logs', async () => {
    await (await worker.dispatchFetch('http://worker/logged-path')).arrayBuffer();
    await expect.poll(() => worker.output(), { timeout: 5_000 }).toContain('handled /logged-path');
  });
});
