// The page of gateway replicas sharing one real Redis 7 (RESP/TCP): every replica's status page lists the live
// replicas from their heartbeats (a stopped one leaves the list), and each group's write mode and deduplicated
// retries are recorded in Redis, so a replica shows what another one was pushed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import { ReplicaHeartbeats } from '../../pushgateway/store/replica-heartbeats.js';
import type { RunningService } from '../support/services/process.js';
import { startRedis } from '../support/services/redis.js';

let redis: RunningService;
const replicas: RunningGateway[] = [];

const startReplica = async () =>
  await startGateway({
    config: loadGatewayConfig({
      GATEWAY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_REDIS_URL: redis.url,
      GATEWAY_GROUP_TTL_SECONDS: '3600',
    }),
    logger: createGatewayLogger('silent'),
  });

/** The ids in the replica table of one replica's status page. */
const listedReplicas = async (gateway: RunningGateway) => {
  const html = await (await fetch(`${gateway.url}/status`)).text();
  return [...html.matchAll(/<tr data-replica="([^"]+)"/g)].map((match) => match[1]).sort();
};

/** The write mode and retries one replica's page shows for a job. */
const groupFacts = async (gateway: RunningGateway, job: string) => {
  const html = await (await fetch(`${gateway.url}/`)).text();
  const row = new RegExp(`<tr data-group="job=&quot;${job}&quot;.*?</tr>`, 's').exec(html)?.[0] ?? '';
  const cell = (name: string) => new RegExp(`<td class="${name}">(.*?)</td>`, 's').exec(row)?.[1];
  return { mode: cell('mode'), retries: cell('retries') };
};

beforeAll(async () => {
  redis = await startRedis();
  replicas.push(await startReplica(), await startReplica());
}, 120_000);

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await redis?.stop();
});

describe('gateway replicas on one Redis', () => {
  it('each status page lists both live replicas, marks itself, and drops one that stopped', async () => {
    const [a, b] = replicas as [RunningGateway, RunningGateway];
    await expect.poll(() => listedReplicas(a)).toHaveLength(2);
    expect(await listedReplicas(b)).toEqual(await listedReplicas(a));
    expect(await (await fetch(`${a.url}/status`)).text()).toContain('(this one)');

    const third = await startReplica();
    await expect.poll(() => listedReplicas(a)).toHaveLength(3);
    await third.stop();
    expect(await listedReplicas(a)).toHaveLength(2);
  });

  it('drops a replica that died without leaving once its last heartbeat expires in Redis', async () => {
    const [a] = replicas as [RunningGateway];
    const commands = redisTcpCommands({ url: redis.url });
    try {
      // A beat with a short expiry and no beat after it: what a SIGKILLed replica leaves behind.
      await new ReplicaHeartbeats(commands, a.config.redisKeyPrefix, 300).beat({ id: 'killed', startedAtMs: 1, version: 'x' }, Date.now());
      expect(await listedReplicas(a)).toContain('killed');
      await expect.poll(() => listedReplicas(a), { timeout: 10_000 }).not.toContain('killed');
      expect(await listedReplicas(a)).toHaveLength(2);
    } finally {
      await commands.close();
    }
  });

  it("shows on one replica how another wrote each group, and the group's deduplicated retries", async () => {
    const [a, b] = replicas as [RunningGateway, RunningGateway];
    const put = await fetch(`${a.url}/metrics/job/put-job`, { method: 'PUT', body: '# TYPE g gauge\ng 1\n' });
    expect(put.status).toBe(200);
    const keyed = { method: 'POST', body: '# TYPE c_total counter\nc_total 1\n', headers: { 'idempotency-key': 'once' } };
    expect((await fetch(`${a.url}/aggregate/metrics/job/agg-job`, keyed)).status).toBe(200);
    const replay = await fetch(`${b.url}/aggregate/metrics/job/agg-job`, keyed);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await groupFacts(b, 'put-job')).toEqual({ mode: 'replaced', retries: '0' });
    expect(await groupFacts(b, 'agg-job')).toEqual({ mode: 'aggregated', retries: '1' });
    const api = (await (await fetch(`${a.url}/api/v1/metrics`)).json()) as { data: Array<Record<string, unknown>> };
    const agg = api.data.find((group) => (group.labels as { job: string }).job === 'agg-job');
    expect(agg?.['@gateway']).toMatchObject({ write_mode: 'aggregated', deduplicated_retries: 1, ttl_seconds: 3600 });
  });
});
