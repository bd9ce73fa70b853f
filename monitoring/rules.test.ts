// What promtool cannot say about alerts.yml: every rule is documented, linked to an existing runbook,
// and has a firing and a silent unit test in alerts.test.yml.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { monitoringDir, repoRoot } from './static-checks.js';
import { githubAnchors } from '../test/support/markdown-anchors.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }>;
}

const rules = (parse(readFileSync(join(monitoringDir, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);
const unitTests = (
  parse(readFileSync(join(monitoringDir, 'alerts.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test?: AlertTest[] }> }
).tests.flatMap((t) => t.alert_rule_test ?? []);
const runbookAnchors = githubAnchors(readFileSync(join(repoRoot, 'docs', 'runbooks.md'), 'utf8'));

describe('alerts.yml', () => {
  it('has the four alerts every API needs (errors, latency, database, Redis) and the ones pushing through a gateway needs', () => {
    const names = new Set(rules.map((rule) => rule.alert));
    for (const name of [
      'HighErrorRate',
      'HighResponseTime',
      'DatabaseDown',
      'RedisDown',
      'ApiSilent',
      'MetricsPushFailures',
      'LogEventsDropped',
      'GatewayNearSeriesLimit',
      'SlowDatabaseQueries',
    ]) {
      expect(names, name).toContain(name);
    }
    expect(rules).toHaveLength(13);
  });

  it("DatabaseDown and RedisDown watch the exporters' jobs, HighErrorRate is a 5xx ratio", () => {
    const expr = (name: string) => rules.find((rule) => rule.alert === name)!.expr;
    expect(expr('DatabaseDown')).toContain('up{job="postgres"} == 0');
    expect(expr('RedisDown')).toContain('up{job="redis"} == 0');
    expect(expr('HighErrorRate')).toMatch(/status=~"5\.\."[^/]*\/\s*sum by \(job\) \(rate\(http_requests_total\[5m\]\)\)/);
  });

  it.each(rules.map((rule) => [`${rule.alert} (${rule.labels?.severity})`, rule] as const))(
    '%s has severity, summary, description and a runbook that exists',
    (_name, rule) => {
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length).toBeGreaterThan(20);
      const runbook = rule.annotations?.runbook_url ?? '';
      expect(runbook).toBe(`docs/runbooks.md#${rule.alert.toLowerCase()}`);
      expect(runbookAnchors).toContain(runbook.split('#')[1]);
    },
  );

  it('pairs of severities share a name so the critical inhibits the warning', () => {
    const severities = new Map<string, string[]>();
    for (const rule of rules) severities.set(rule.alert, [...(severities.get(rule.alert) ?? []), rule.labels!.severity!]);
    for (const [name, list] of severities) {
      expect(new Set(list).size, `${name} repeats a severity`).toBe(list.length);
    }
  });
});

describe('alerts.test.yml', () => {
  it.each([...new Set(rules.map((rule) => rule.alert))])(
    '%s has a case where it fires with labels and annotations, and one where it stays silent',
    (name) => {
      const cases = unitTests.filter((test) => test.alertname === name);
      const silent = cases.filter((test) => (test.exp_alerts ?? []).length === 0);
      expect(silent.length).toBeGreaterThan(0);
      for (const rule of rules.filter((candidate) => candidate.alert === name)) {
        const fired = cases.flatMap((test) => test.exp_alerts ?? []).filter((alert) => alert.exp_labels.severity === rule.labels?.severity);
        expect(fired.length, `${name} ${rule.labels?.severity} never fires in a test`).toBeGreaterThan(0);
        for (const alert of fired)
          expect(Object.keys(alert.exp_annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
      }
    },
  );
});
