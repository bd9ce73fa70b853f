// One large push must not stall the gateway: while an 800 000-series PUT (23 MB) is validated and stored, a
// /-/healthy request sent when the store starts on it is answered first — ordering, not timing. The real app on a
// real Node server; the store is the memory store, observed only to know when the push reached it.
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig } from '../../pushgateway/config/gateway.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import type { PushOutcome, PushRequest } from '../../pushgateway/store/types.js';

class ObservedStore extends MemoryStore {
  onApply: (() => void) | undefined;
  override apply(push: PushRequest): Promise<PushOutcome> {
    this.onApply?.();
    return super.apply(push);
  }
}

const SERIES = 800_000;
const store = new ObservedStore({ maxSeries: 0 });
let server: ServerType;
let url: string;

beforeAll(async () => {
  const app = createGatewayApp({ store, config: { ...defaultGatewayConfig, maxBodyBytes: 64 * 1024 * 1024, maxStoredBytes: 0 } });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('a large push', () => {
  it('leaves /-/healthy answering while it is validated and stored', async () => {
    const lines = ['# TYPE big_push gauge\n'];
    for (let i = 0; i < SERIES; i++) lines.push(`big_push{series="${i}",zone="eu-west-1"} ${i}\n`);
    const body = lines.join('');
    const order: string[] = [];
    let healthy: Promise<void> | undefined;
    store.onApply = () => {
      store.onApply = undefined;
      healthy = fetch(`${url}/-/healthy`).then(async (response) => {
        order.push(`healthy ${response.status} ${await response.text()}`);
      });
    };
    const put = await fetch(`${url}/metrics/job/large`, { method: 'PUT', body });
    order.push(`put ${put.status}`);
    await healthy;
    expect(order).toEqual(['healthy 200 OK', 'put 200']);
    expect((await store.stats(Date.now())).series).toBe(SERIES);
  }, 180_000);
});
