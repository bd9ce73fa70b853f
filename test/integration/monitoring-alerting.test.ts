// End to end alerting: the API answers 5xx under load (its users table is gone), the shipped HighErrorRate
// rule (in a copy with `for: 0s`) fires in real Prometheus, and the notification reaches a webhook
// through real Alertmanager running the shipped route tree and inhibition rules.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { queryPrometheus, startAlertmanager, waitUntil, type RunningService } from '../support/services/index.js';
import { alertRules, API_JOB, repoRoot, sendAll, startMonitoringStack, type MonitoringStack } from '../support/monitoring-stack.js';

interface Notification {
  receiver: string;
  status: string;
  groupLabels: Record<string, string>;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

interface AlertmanagerConfig {
  global?: Record<string, unknown>;
  templates?: string[];
  route: { group_wait?: string; group_interval?: string; repeat_interval?: string };
  receivers: Array<{ name: string } & Record<string, unknown>>;
  inhibit_rules: unknown[];
}

/**
 * The shipped alertmanager.yml with the same route tree, grouping and inhibition, but every receiver
 * turned into a webhook on the test's loopback server (path = receiver name), and short waits. Email
 * and Slack would need the outside world.
 */
function testAlertmanagerConfig(webhookBase: string): string {
  const config = parse(readFileSync(join(repoRoot, 'monitoring', 'alertmanager.yml'), 'utf8')) as AlertmanagerConfig;
  delete config.global;
  delete config.templates;
  config.route = { ...config.route, group_wait: '1s', group_interval: '1s', repeat_interval: '1h' };
  config.receivers = config.receivers.map(({ name }) => ({
    name,
    webhook_configs: [{ url: `${webhookBase}/${name}`, send_resolved: false }],
  }));
  return stringify(config);
}

let stack: MonitoringStack;
let alertmanager: RunningService;
let webhook: Server;
const notifications: Notification[] = [];

beforeAll(async () => {
  webhook = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification;
      notifications.push({ ...body, receiver: request.url!.slice(1) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const address = webhook.address();
  const webhookBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  alertmanager = await startAlertmanager(testAlertmanagerConfig(webhookBase));
  stack = await startMonitoringStack({ rules: alertRules({ forDuration: '0s' }), alertmanager: `127.0.0.1:${alertmanager.port}` });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await alertmanager?.stop();
  await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
});

const firing = (receiver: string, severity: string) =>
  notifications
    .filter((notification) => notification.receiver === receiver)
    .flatMap((notification) => notification.alerts)
    .filter((alert) => alert.status === 'firing' && alert.labels.alertname === 'HighErrorRate' && alert.labels.severity === severity);

describe('HighErrorRate end to end', () => {
  it('the API answers 5xx under load and the critical alert reaches the webhook through Alertmanager', async () => {
    await stack.breakUsersTable();
    // Steady load in the background until the notifications arrive; the wait below polls the webhook
    // on its own clock, and a request still pending after 10 s is given up by the client.
    const statuses: number[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const batch = Array.from({ length: 4 }, () => () => fetch(`${stack.apiUrl}/api/users`, { signal: AbortSignal.timeout(10_000) }));
        statuses.push(...(await sendAll(batch, 2).catch(() => [])));
      }
    })();
    try {
      await waitUntil(
        async () =>
          firing('webhook', 'critical').length > 0 &&
          firing('slack-critical', 'critical').length > 0 &&
          firing('email', 'critical').length > 0,
        { what: 'HighErrorRate (critical) at the webhook, Slack and email receivers', timeoutMs: 120_000, intervalMs: 250 },
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}\nreceived: ${JSON.stringify(notifications.map((n) => [n.receiver, n.alerts.map((a) => a.labels)]))}\nAPI log:\n${stack.apiLogTail()}`,
        );
      });
    } finally {
      loading = false;
      await load;
    }

    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status >= 500)).toBe(true);

    const [alert] = firing('webhook', 'critical');
    expect(alert!.labels).toEqual({ alertname: 'HighErrorRate', job: API_JOB, severity: 'critical', monitor: 'hono-edge-metrics' });
    expect(alert!.annotations.summary).toBe(`More than 5% of ${API_JOB} requests fail with 5xx`);
    expect(alert!.annotations.description).toMatch(
      new RegExp(
        `^\\d+(\\.\\d+)?% of the requests to ${API_JOB} answered 5xx over the last 5 minutes \\(threshold 5% for 5 minutes\\)\\.$`,
      ),
    );
    expect(alert!.annotations.runbook_url).toBe('docs/runbooks.md#higherrorrate');
    const notification = notifications.find((n) => n.receiver === 'webhook' && n.alerts.includes(alert!))!;
    expect(notification.groupLabels).toEqual({ alertname: 'HighErrorRate', job: API_JOB });
  }, 180_000);

  it('the warning of the same alert is inhibited while the critical fires', async () => {
    // Both severities fire in Prometheus (every request fails); the shipped inhibit rule keeps the
    // warning from every receiver.
    const alerts = await queryPrometheus(stack.prometheus.url, 'ALERTS{alertname="HighErrorRate",alertstate="firing"}');
    expect(alerts.map((series) => series.metric.severity).sort()).toEqual(['critical', 'warning']);
    for (const receiver of ['webhook', 'slack-critical', 'email']) expect(firing(receiver, 'warning'), receiver).toEqual([]);
  });
});
