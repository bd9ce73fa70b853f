import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApiMetrics } from '../metrics.js';
import { hostOwnership } from './host-owner.js';
import { parseRedisInfo } from './redis.js';
import { type Collector, startCollectors } from './scheduler.js';
import { parseNetDev, systemCollectors } from './system.js';

const netDev = (rx: number, tx: number) => `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9999999     100    0    0    0     0          0         0  9999999     100    0    0    0     0       0          0
  eth0: ${rx}     10    0    0    0     0          0         0  ${tx}      20    0    0    0     0       0          0
`;

const value = async (
  metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> },
  labels: Record<string, string> = {},
) => (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;

describe('parsers', () => {
  it('sums /proc/net/dev over interfaces but loopback', () => {
    expect(parseNetDev(netDev(1000, 2000))).toEqual({ rx: 1000, tx: 2000 });
  });

  it('reads INFO fields', () => {
    const info = parseRedisInfo('# Clients\r\nconnected_clients:3\r\n\r\n# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n');
    expect(info.get('connected_clients')).toBe('3');
    expect(info.get('used_memory')).toBe('1048576');
  });
});

describe('systemCollectors', () => {
  it('reports CPU, memory and disk, and counts network bytes from the first reading on', async () => {
    const metrics = createApiMetrics();
    const dir = mkdtempSync(join(tmpdir(), 'netdev-'));
    const file = join(dir, 'net-dev');
    writeFileSync(file, netDev(5000, 7000));
    const collectors = systemCollectors(metrics, {
      netDevPath: file,
      diskPath: dir,
      owner: hostOwnership({ lockFile: join(dir, 'lock') }),
    });
    await Promise.all(collectors.map((c) => c.collect()));
    writeFileSync(file, netDev(5600, 7100));
    await Promise.all(collectors.map((c) => c.collect()));
    expect(await value(metrics.systemNetworkIoBytesTotal, { direction: 'rx' })).toBe(600);
    expect(await value(metrics.systemNetworkIoBytesTotal, { direction: 'tx' })).toBe(100);
    const cpu = await value(metrics.systemCpuUsagePercent);
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(100);
    expect(await value(metrics.systemMemoryUsageBytes)).toBeGreaterThan(0);
    const disk = await value(metrics.systemDiskUsagePercent);
    expect(disk).toBeGreaterThan(0);
    expect(disk).toBeLessThanOrEqual(100);
  });
});

describe('host-wide network bytes', () => {
  const network = (metrics: ReturnType<typeof createApiMetrics>, dir: string) =>
    systemCollectors(metrics, {
      netDevPath: join(dir, 'net-dev'),
      diskPath: dir,
      owner: hostOwnership({ lockFile: join(dir, 'lock') }),
    }).find((c) => c.name === 'system.network')!;

  it('are counted by one process of a host only, so summing the pushed deltas counts the traffic once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netdev-'));
    writeFileSync(join(dir, 'net-dev'), netDev(5000, 7000));
    const first = createApiMetrics();
    const second = createApiMetrics();
    const [a, b] = [network(first, dir), network(second, dir)];
    await a.collect();
    await b.collect();
    writeFileSync(join(dir, 'net-dev'), netDev(5600, 7100));
    await a.collect();
    await b.collect();
    const rx = [
      await value(first.systemNetworkIoBytesTotal, { direction: 'rx' }),
      await value(second.systemNetworkIoBytesTotal, { direction: 'rx' }),
    ];
    expect((rx[0] ?? 0) + (rx[1] ?? 0)).toBe(600);
  });

  it("are taken over when the owner's process is gone, from the new owner's first reading", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netdev-'));
    writeFileSync(join(dir, 'lock'), '2147483646 gone'); // no such pid
    writeFileSync(join(dir, 'net-dev'), netDev(5000, 7000));
    const metrics = createApiMetrics();
    const collector = network(metrics, dir);
    await collector.collect();
    writeFileSync(join(dir, 'net-dev'), netDev(5600, 7100));
    await collector.collect();
    expect(await value(metrics.systemNetworkIoBytesTotal, { direction: 'rx' })).toBe(600);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  });
});

describe('startCollectors', () => {
  it('keeps going when a collector fails or hangs: it only logs', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    let healthyRuns = 0;
    const collectors: Collector[] = [
      { name: 'broken', collect: async () => Promise.reject(new Error('dependency down')) },
      { name: 'stuck', collect: () => new Promise<void>(() => {}) },
      { name: 'healthy', collect: async () => void healthyRuns++ },
    ];
    const running = startCollectors(collectors, {
      intervalMs: 60_000,
      timeoutMs: 100,
      logger: { warn: (fields) => void warnings.push(fields) },
    });
    try {
      await running.collectNow();
      await running.collectNow();
    } finally {
      running.stop();
    }
    expect(healthyRuns).toBe(2);
    expect(warnings.filter((w) => w.collector === 'broken')).toHaveLength(2);
    expect(warnings.filter((w) => w.collector === 'stuck').map((w) => w.err)).toEqual(['timed out after 100 ms', 'timed out after 100 ms']);
  });

  it('runs on its interval, off any caller', async () => {
    let runs = 0;
    const running = startCollectors([{ name: 'tick', collect: async () => void runs++ }], { intervalMs: 20, logger: { warn() {} } });
    try {
      await expect.poll(() => runs, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      running.stop();
    }
  });
});

describe('which collector metrics are registered', () => {
  const names = async (metrics: ReturnType<typeof createApiMetrics>) =>
    (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);

  it('leaves out the Redis gauges when there is no Redis to read, keeping the other collectors', async () => {
    const withRedis = await names(createApiMetrics());
    const withoutRedis = await names(createApiMetrics(undefined, { redis: false }));
    expect(withRedis).toEqual(expect.arrayContaining(['redis_connected_clients', 'redis_memory_usage_bytes', 'system_cpu_usage_percent']));
    expect(withoutRedis).not.toContain('redis_connected_clients');
    expect(withoutRedis).not.toContain('redis_memory_usage_bytes');
    expect(withoutRedis).toContain('system_cpu_usage_percent');
  });

  it('registers no collector metric at all on Workers', async () => {
    const registered = await names(createApiMetrics(undefined, { nodeCollectors: false }));
    expect(registered.filter((name) => /^(system|postgres|redis)_/.test(name))).toEqual([]);
    expect(registered).toContain('http_requests_total');
  });
});
