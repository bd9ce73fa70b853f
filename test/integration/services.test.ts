// The harness itself: every real service the suite relies on starts on loopback and stops by PID.
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { startAlertmanager, startOfficialPushgateway, startPostgres, startPrometheus } from '../support/services/index.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('real service harness', () => {
  it('starts PostgreSQL on loopback, creates databases, stops it', async () => {
    const pg = await startPostgres();
    const url = await pg.createDatabase();
    const sql = postgres(url, { max: 1 });
    const [row] = await sql`select current_setting('listen_addresses') as listen, version() as version`;
    await sql.end();
    expect(row?.listen).toBe('127.0.0.1');
    expect(String(row?.version)).toMatch(/PostgreSQL 1[5-9]/);
    await pg.stop();
    expect(processAlive(pg.pid)).toBe(false);
  });

  it('starts the official Pushgateway, Prometheus and Alertmanager', async () => {
    const gateway = await startOfficialPushgateway();
    const prometheus = await startPrometheus({
      config: `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: gw\n    honor_labels: true\n    static_configs: [{ targets: ['127.0.0.1:${gateway.port}'] }]\n`,
    });
    const alertmanager = await startAlertmanager('route: { receiver: none }\nreceivers: [{ name: none }]\n');
    try {
      const status = await (await fetch(`${alertmanager.url}/api/v2/status`)).json();
      expect(status).toHaveProperty('cluster');
      const push = await fetch(`${gateway.url}/metrics/job/harness`, { method: 'PUT', body: 'harness_value 42\n' });
      expect(push.status).toBe(200);
      expect(await (await fetch(`${gateway.url}/metrics`)).text()).toContain('harness_value{instance="",job="harness"} 42');
    } finally {
      await Promise.all([gateway.stop(), prometheus.stop(), alertmanager.stop()]);
    }
    expect([gateway.pid, prometheus.pid, alertmanager.pid].some(processAlive)).toBe(false);
  });
});
