// The dashboard check: a scripted load (successes, 4xx, slow queries, 5xx) through our API on real
// PostgreSQL, pushed to our gateway, scraped by real Prometheus with the shipped prometheus.yml and
// alert rules; then every panel query of every dashboard, with Grafana's variables substituted, must
// parse and return at least one series — Grafana cannot run here, so this is what proves the panels.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { panelQueries, variableQueries } from '../../monitoring/grafana/dashboards.js';
import { waitUntil } from '../support/services/index.js';
import { alertRules, API_JOB, scalarQuery, sendAll, startMonitoringStack, type MonitoringStack } from '../support/monitoring-stack.js';

/** What Grafana would put in for its built-ins on a 1 h dashboard with 1 s scrapes. */
const builtins = { __rate_interval: '1m', __range: '1h', __interval: '15s' };

interface QueryOutcome {
  where: string;
  expr: string;
  series: number;
  error?: string;
}

async function runQuery(prometheusUrl: string, expr: string): Promise<{ series: number; error?: string }> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown[] } };
  if (body.status !== 'success') return { series: 0, error: body.error ?? `HTTP ${response.status}` };
  return { series: body.data!.resultType === 'scalar' ? 1 : body.data!.result.length };
}

let stack: MonitoringStack;
/** Status counts of the scripted requests to the /api/users and /api/tasks routes. */
const sentByStatus = new Map<number, number>();
let serverErrors = 0;

function tally(statuses: number[]): void {
  for (const status of statuses) sentByStatus.set(status, (sentByStatus.get(status) ?? 0) + 1);
}

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  stack = await startMonitoringStack({ rules: alertRules() });
  const api = (path: string, init?: RequestInit) => () => fetch(`${stack.apiUrl}${path}`, init);

  // 1. Successes: users, their tasks, reads, updates, deletes.
  const created = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const response = await fetch(`${stack.apiUrl}/api/users`, json({ email: `user${i}@example.com`, name: `User ${i}` }));
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    }),
  );
  tally(created.map(() => 201));
  const tasks = await Promise.all(
    created.map(async (id, i) => {
      const response = await fetch(`${stack.apiUrl}/api/users/${id}/tasks`, json({ title: `task ${i}` }));
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    }),
  );
  tally(tasks.map(() => 201));
  tally(
    await sendAll([
      ...Array.from({ length: 20 }, () => api('/api/users')),
      ...created.map((id) => api(`/api/users/${id}`)),
      ...created.map((id) => api(`/api/users/${id}/tasks`)),
      ...tasks.map((id) => api(`/api/tasks/${id}`)),
      ...tasks.slice(0, 4).map((id) => api(`/api/tasks/${id}`, { ...json({ done: true }), method: 'PATCH' })),
      ...tasks.slice(4, 6).map((id) => api(`/api/tasks/${id}`, { method: 'DELETE' })),
    ]),
  );

  // 2. Client errors: invalid bodies (400) and unknown ids (404); plus paths no route matches.
  tally(
    await sendAll([
      ...Array.from({ length: 5 }, () => api('/api/users', json({ email: 'not an email', name: '' }))),
      ...Array.from({ length: 5 }, () => api('/api/users/00000000-0000-4000-8000-000000000000')),
    ]),
  );
  await sendAll(Array.from({ length: 5 }, (_, i) => api(`/no/such/route/${i}`)));

  // 3. Slow queries: another session holds an exclusive lock on users for a while, so the API's
  //    SELECTs and INSERTs on it wait (real PostgreSQL lock waits, no sleep in the app).
  const locker = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const session = await locker.reserve();
    await session`begin`;
    await session`lock table users in access exclusive mode`;
    const waiting = sendAll(
      [
        ...Array.from({ length: 6 }, () => api('/api/users')),
        ...Array.from({ length: 4 }, (_, i) => api('/api/users', json({ email: `slow${i}@example.com`, name: 'Slow' }))),
      ],
      10,
    );
    // Hold the lock until the API's queries are all queued behind it, then 0.7 s more: each of them
    // takes longer than the 0.5 s bucket whatever the speed of the machine.
    await waitUntil(
      async () =>
        (
          await locker`select count(*)::int as waiting from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`
        )[0]!.waiting >= 6,
      { what: 'the API queries to wait for the lock', timeoutMs: 30_000, intervalMs: 50 },
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    await session`commit`;
    session.release();
    tally(await waiting);
  } finally {
    await locker.end({ timeout: 1 });
  }

  // 4. A push the gateway refuses (wrong token): the "Pushes refused" panel's 401.
  const refused = await fetch(`${stack.gateway.url}/aggregate/metrics/job/intruder`, {
    method: 'POST',
    headers: { authorization: 'Bearer wrong-token' },
    body: 'intruder_total 1\n',
  });
  expect(refused.status).toBe(401);

  // 5. Server errors: the users table goes away (a broken migration) under load.
  await stack.breakUsersTable();
  const failing = await sendAll([
    ...Array.from({ length: 10 }, () => api('/api/users')),
    ...created.slice(0, 10).map((id) => api(`/api/users/${id}/tasks`)),
  ]);
  serverErrors = failing.filter((status) => status >= 500).length;
  tally(failing);

  // Wait until Prometheus has scraped everything the API pushed: the per-status totals of the scripted
  // routes equal what was sent (exactly once through the delta pusher and the aggregating gateway).
  await waitUntil(
    async () => {
      for (const [status, count] of sentByStatus) {
        const seen = await scalarQuery(
          stack.prometheus.url,
          `sum(http_requests_total{job="${API_JOB}",endpoint=~"/api/(users|tasks).*",status="${status}"})`,
        );
        if (seen !== count) return false;
      }
      return true;
    },
    { what: 'the scripted load in Prometheus', timeoutMs: 60_000, intervalMs: 500 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nsent by status: ${JSON.stringify([...sentByStatus])}\nAPI log:\n${stack.apiLogTail()}`);
  });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

describe('dashboards on real data', () => {
  it('the scripted load produced successes, client errors, slow queries and server errors', () => {
    expect(sentByStatus.get(201)).toBeGreaterThan(0);
    expect(sentByStatus.get(200)).toBeGreaterThan(0);
    expect([...sentByStatus.keys()].some((status) => status >= 400 && status < 500)).toBe(true);
    expect(serverErrors).toBe(20);
  });

  it('every panel query of every dashboard parses and returns at least one series', async () => {
    const queries = panelQueries(builtins);
    expect(queries.length).toBe(47);
    let outcomes: QueryOutcome[] = [];
    const failures = () => outcomes.filter((outcome) => outcome.error || outcome.series === 0);
    // Gauges from the API's collectors arrive with their own interval: wait for them, bounded.
    await waitUntil(
      async () => {
        outcomes = await Promise.all(
          queries.map(async (q) => ({
            where: `${q.dashboard} / ${q.panel} / ${q.refId}`,
            expr: q.expr,
            ...(await runQuery(stack.prometheus.url, q.expr)),
          })),
        );
        return failures().length === 0 || failures().some((outcome) => outcome.error);
      },
      { what: 'every panel to return data', timeoutMs: 30_000, intervalMs: 1_000 },
    ).catch(() => {});
    expect(failures().map((f) => `${f.where}: ${f.error ?? 'no series'}\n    ${f.expr.replace(/\n/g, ' ')}`)).toEqual([]);
  });

  it('every template variable has values', async () => {
    for (const variable of variableQueries(builtins)) {
      const params = new URLSearchParams({ 'match[]': variable.match });
      const body = (await (await fetch(`${stack.prometheus.url}/api/v1/label/${variable.label}/values?${params}`)).json()) as {
        data: string[];
      };
      expect(body.data.length, `${variable.dashboard} $${variable.variable}`).toBeGreaterThan(0);
    }
    const endpoints = (await (await fetch(`${stack.prometheus.url}/api/v1/label/endpoint/values`)).json()) as { data: string[] };
    expect(endpoints.data).toEqual(expect.arrayContaining(['/api/users', '/api/users/:id', '/api/users/:id/tasks', '/api/tasks/:id']));
  });

  it('the data shows what happened: the 5xx, slow SELECTs, the refused push', async () => {
    // Totals, not increase(): a series first seen with its final value has no increase inside the window.
    const serverErrorsSeen = await scalarQuery(stack.prometheus.url, `sum(http_requests_total{job="${API_JOB}",status=~"5.."})`);
    expect(serverErrorsSeen).toBe(serverErrors);
    // The lock held the queries for over 0.7 s: SELECTs took longer than half a second.
    const slowSelects = await scalarQuery(
      stack.prometheus.url,
      `sum(db_query_duration_seconds_count{job="${API_JOB}",operation="SELECT"}) - sum(db_query_duration_seconds_bucket{job="${API_JOB}",operation="SELECT",le="0.5"})`,
    );
    expect(slowSelects).toBeGreaterThan(0);
    const refusedPushes = await scalarQuery(stack.prometheus.url, 'sum(pushgateway_http_requests_total{code="401"})');
    expect(refusedPushes).toBe(1);
  });

  it("every series the alert rules read exists in the live data (the exporters' own pg_up/redis_up aside)", async () => {
    const rules = (parse(alertRules()) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap(
      (g) => g.rules,
    );
    const functions = new Set(['histogram_quantile', 'max_over_time']);
    // Exporters are not installed here: their `up` is scraped (value 0) but their own series do not exist.
    const exporterOnly = new Set(['pg_up{job="postgres"}', 'redis_up{job="redis"}']);
    const selectors = new Set(
      rules.flatMap((rule) =>
        (rule.expr.match(/[a-z_][a-z0-9_]*(\{[^}]*\})?/g) ?? []).filter(
          (token) => (token.includes('_') || token.startsWith('up{')) && !functions.has(token),
        ),
      ),
    );
    expect(selectors).toContain('http_requests_total{status=~"5.."}');
    expect(selectors).toContain('up{job="postgres"}');
    const missing: string[] = [];
    for (const selector of selectors) {
      if (exporterOnly.has(selector)) continue;
      if ((await scalarQuery(stack.prometheus.url, `count(${selector})`)) === undefined) missing.push(selector);
    }
    expect(missing).toEqual([]);
  });
});
