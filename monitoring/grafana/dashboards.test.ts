import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../static-checks.js';
import {
  CURRENT_SCHEMA_VERSION,
  lintDashboards,
  loadDashboards,
  panelQueries,
  substituteVariables,
  variableQueries,
  type DashboardFile,
} from './dashboards.js';

const builtins = { __rate_interval: '1m', __range: '1h', __interval: '15s' };
const dashboards = loadDashboards();

describe('Grafana dashboards', () => {
  it('are the five of the design, with stable uids and the current schema', () => {
    expect(dashboards.map(({ dashboard }) => [dashboard.uid, dashboard.title])).toEqual([
      ['hem-api-performance', 'API performance'],
      ['hem-app-overview', 'Application overview'],
      ['hem-database', 'Database'],
      ['hem-errors', 'Errors'],
      ['hem-system-resources', 'System resources'],
    ]);
    for (const { dashboard } of dashboards) expect(dashboard.schemaVersion).toBe(CURRENT_SCHEMA_VERSION);
  });

  it('pass the lint', () => {
    expect(lintDashboards(dashboards)).toEqual([]);
  });

  it('the lint catches a missing datasource, overlapping panels, a duplicate uid and an undefined variable', () => {
    const broken: DashboardFile[] = structuredClone(dashboards);
    const first = broken[0]!.dashboard;
    delete first.panels![0]!.datasource;
    first.panels![1]!.gridPos = { ...first.panels![0]!.gridPos };
    first.panels![2]!.targets![0]!.expr = 'rate(http_requests_total{endpoint=~"$nope"}[5m])';
    broken[1]!.dashboard.uid = first.uid;
    const problems = lintDashboards(broken).join('\n');
    expect(problems).toMatch(/datasource needs a type and a uid/);
    expect(problems).toMatch(/overlaps/);
    expect(problems).toMatch(/undefined variable \$nope/);
    expect(problems).toMatch(/uid "hem-api-performance" also used by/);
  });

  it('API performance and Errors filter by $endpoint', () => {
    for (const uid of ['hem-api-performance', 'hem-errors']) {
      const { dashboard } = dashboards.find((d) => d.dashboard.uid === uid)!;
      expect(dashboard.templating?.list?.map((v) => v.name)).toContain('endpoint');
      expect(dashboard.panels!.some((p) => p.targets!.some((t) => t.expr!.includes('endpoint=~"$endpoint"')))).toBe(true);
    }
  });

  it('substitutes "All" values and built-ins, and refuses unknown variables', () => {
    const variables = [{ name: 'endpoint', includeAll: true, allValue: '.*' }];
    expect(substituteVariables('rate(x{endpoint=~"$endpoint"}[$__rate_interval])', variables, builtins)).toBe(
      'rate(x{endpoint=~".*"}[1m])',
    );
    expect(substituteVariables('x{e=~"${endpoint:regex}"}', variables, builtins, { endpoint: '/api/users' })).toBe('x{e=~"/api/users"}');
    expect(() => substituteVariables('x{a="$other"}', variables, builtins)).toThrow(/no value for \$other/);
  });

  it('expose every panel query with no variable left', () => {
    const queries = panelQueries(builtins);
    expect(queries.length).toBe(47);
    for (const query of queries) expect(query.expr, `${query.dashboard} / ${query.panel}`).not.toContain('$');
    expect(variableQueries(builtins).map((q) => `${q.variable}:${q.match}`)).toContain('endpoint:http_requests_total{job=~".*"}');
  });
});

describe('Grafana provisioning', () => {
  const grafanaDir = join(repoRoot, 'monitoring', 'grafana', 'provisioning');
  const datasources = (
    parse(readFileSync(join(grafanaDir, 'datasources', 'datasources.yml'), 'utf8')) as {
      datasources: Array<{
        uid: string;
        type: string;
        url: string;
        jsonData?: Record<string, unknown>;
        secureJsonData?: Record<string, string>;
        basicAuthUser?: string;
      }>;
    }
  ).datasources;
  const providers = (
    parse(readFileSync(join(grafanaDir, 'dashboards', 'dashboards.yml'), 'utf8')) as { providers: Array<{ options: { path: string } }> }
  ).providers;
  const compose = parse(readFileSync(join(repoRoot, 'docker-compose.prod.yml'), 'utf8')) as {
    services: Record<string, { volumes?: string[]; secrets?: string[] }>;
  };
  const grafana = compose.services.grafana!;

  it('provisions Prometheus (the uid every panel uses) and the logs in Elasticsearch', () => {
    expect(datasources.map((ds) => [ds.uid, ds.type, ds.url])).toEqual([
      ['prometheus', 'prometheus', 'http://prometheus:9090'],
      ['elasticsearch', 'elasticsearch', 'http://elasticsearch:9200'],
    ]);
    const logs = datasources[1]!;
    expect(logs.jsonData?.index).toBe('logs-api-*');
    expect(logs.jsonData?.timeField).toBe('@timestamp');
  });

  it('reads the Elasticsearch password from a docker secret that compose gives Grafana', () => {
    const logs = datasources[1]!;
    const secret = /^\$__file\{\/run\/secrets\/(\w+)\}$/.exec(logs.secureJsonData?.basicAuthPassword ?? '')?.[1];
    expect(secret).toBe('logs_reader_password');
    expect(grafana.secrets).toContain(secret);
    expect(logs.basicAuthUser).toBe('logs_reader');
  });

  it('loads the dashboards from where compose mounts them', () => {
    expect(providers.map((p) => p.options.path)).toEqual(['/var/lib/grafana/dashboards']);
    expect(grafana.volumes).toContain('./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });
});
