// Reads the provisioned Grafana dashboards: structural lint (Grafana itself does not run here) and the
// PromQL of every panel with Grafana's template variables substituted, so tests can run each query
// through a real Prometheus.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const grafanaDir = dirname(fileURLToPath(import.meta.url));
export const dashboardsDir = join(grafanaDir, 'dashboards');
const datasourcesFile = join(grafanaDir, 'provisioning', 'datasources', 'datasources.yml');

/** The classic dashboard JSON model of Grafana 12 (the version docker-compose.prod.yml pins). */
export const CURRENT_SCHEMA_VERSION = 41;
const GRID_COLUMNS = 24;
const PANEL_TYPES = new Set(['stat', 'timeseries', 'table', 'heatmap', 'bargauge', 'gauge']);
/** Grafana's global variables that the dashboards use, and what a test substitutes for them. */
export const BUILTIN_VARIABLES = ['__rate_interval', '__range', '__interval'] as const;
export type BuiltinValues = Record<(typeof BUILTIN_VARIABLES)[number], string>;

interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  datasource?: DatasourceRef;
}

export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: DatasourceRef;
  gridPos?: { h?: number; w?: number; x?: number; y?: number };
  targets?: Target[];
}

export interface TemplateVariable {
  type?: string;
  name?: string;
  datasource?: DatasourceRef;
  definition?: string;
  includeAll?: boolean;
  allValue?: string;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: TemplateVariable[] };
}

export interface DashboardFile {
  file: string;
  dashboard: Dashboard;
}

export function loadDashboards(): DashboardFile[] {
  return readdirSync(dashboardsDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard }));
}

/** uid → type of every provisioned datasource. */
export function provisionedDatasources(): Map<string, string> {
  const config = parseYaml(readFileSync(datasourcesFile, 'utf8')) as { datasources?: Array<{ uid?: string; type?: string }> };
  return new Map((config.datasources ?? []).map((ds) => [String(ds.uid), String(ds.type)]));
}

/** `$name`, `${name}` and `${name:format}` references in a query. */
function variableReferences(expr: string): string[] {
  return [...expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)].map((match) => (match[1] ?? match[2])!);
}

/** Every structural problem of the dashboards, as readable lines; empty when they are sound. */
export function lintDashboards(files: DashboardFile[] = loadDashboards()): string[] {
  const problems: string[] = [];
  const datasources = provisionedDatasources();
  const uids = new Map<string, string>();
  const titles = new Map<string, string>();
  if (files.length === 0) problems.push(`no dashboards in ${dashboardsDir}`);

  const checkDatasource = (where: string, ref: DatasourceRef | undefined) => {
    if (!ref?.uid || !ref.type) problems.push(`${where}: datasource needs a type and a uid`);
    else if (datasources.get(ref.uid) !== ref.type) problems.push(`${where}: datasource ${ref.type}/${ref.uid} is not provisioned`);
  };

  for (const { file, dashboard } of files) {
    const uid = dashboard.uid ?? '';
    if (!/^[a-z0-9-]{1,40}$/.test(uid)) problems.push(`${file}: uid "${uid}" must be 1-40 lower-case letters, digits or dashes`);
    else if (uids.has(uid)) problems.push(`${file}: uid "${uid}" also used by ${uids.get(uid)}`);
    uids.set(uid, file);
    if (!dashboard.title) problems.push(`${file}: no title`);
    else if (titles.has(dashboard.title)) problems.push(`${file}: title "${dashboard.title}" also used by ${titles.get(dashboard.title)}`);
    titles.set(dashboard.title ?? '', file);
    if (dashboard.schemaVersion !== CURRENT_SCHEMA_VERSION) {
      problems.push(`${file}: schemaVersion ${dashboard.schemaVersion} (expected ${CURRENT_SCHEMA_VERSION})`);
    }

    const variables = dashboard.templating?.list ?? [];
    const variableNames = new Set<string>(BUILTIN_VARIABLES);
    for (const variable of variables) {
      const where = `${file}: variable ${variable.name}`;
      if (!variable.name) problems.push(`${file}: a variable has no name`);
      if (variable.type === 'query') {
        checkDatasource(where, variable.datasource);
        if (!variable.definition) problems.push(`${where}: no query definition`);
        if (variable.includeAll && variable.allValue === undefined) {
          problems.push(`${where}: includeAll needs an allValue (a regex for =~ selectors)`);
        }
      }
      for (const ref of variableReferences(variable.definition ?? '')) {
        if (!variableNames.has(ref)) problems.push(`${where}: refers to $${ref}, not defined before it`);
      }
      if (variable.name) variableNames.add(variable.name);
    }

    const panels = dashboard.panels ?? [];
    if (panels.length === 0) problems.push(`${file}: no panels`);
    const ids = new Set<number>();
    const occupied = new Map<string, string>();
    for (const panel of panels) {
      const where = `${file}: panel "${panel.title ?? panel.id}"`;
      if (!panel.title) problems.push(`${file}: panel ${panel.id} has no title`);
      if (typeof panel.id !== 'number' || ids.has(panel.id)) problems.push(`${where}: id must be a unique number`);
      ids.add(panel.id ?? -1);
      if (!panel.type || !PANEL_TYPES.has(panel.type)) problems.push(`${where}: unexpected type ${panel.type}`);
      checkDatasource(where, panel.datasource);

      const { h, w, x, y } = panel.gridPos ?? {};
      if (![h, w, x, y].every((n) => Number.isInteger(n) && n! >= 0) || !h || !w) {
        problems.push(`${where}: gridPos needs integer h, w (> 0), x, y`);
      } else if (x! + w > GRID_COLUMNS) {
        problems.push(`${where}: gridPos x + w = ${x! + w} passes the ${GRID_COLUMNS} columns`);
      } else {
        for (let row = y!; row < y! + h; row++) {
          for (let col = x!; col < x! + w; col++) {
            const cell = `${row}:${col}`;
            const other = occupied.get(cell);
            if (other && other !== where) {
              problems.push(`${where}: overlaps ${other}`);
              row = Infinity;
              break;
            }
            occupied.set(cell, where);
          }
        }
      }

      const targets = panel.targets ?? [];
      if (targets.length === 0) problems.push(`${where}: no targets`);
      const refIds = new Set<string>();
      for (const target of targets) {
        if (!target.refId || refIds.has(target.refId)) problems.push(`${where}: target refId must be unique`);
        refIds.add(target.refId ?? '');
        if (!target.expr?.trim()) problems.push(`${where}: target ${target.refId} has no expr`);
        if (target.datasource) checkDatasource(`${where} target ${target.refId}`, target.datasource);
        for (const ref of variableReferences(target.expr ?? '')) {
          if (!variableNames.has(ref)) problems.push(`${where}: target ${target.refId} refers to undefined variable $${ref}`);
        }
      }
    }
  }
  return problems;
}

/** Replaces template variables by their "All" value (or the given values) and the built-ins. */
export function substituteVariables(
  expr: string,
  variables: TemplateVariable[],
  builtins: BuiltinValues,
  values: Record<string, string> = {},
): string {
  const valueOf = (name: string): string => {
    if (name in values) return values[name]!;
    if (name in builtins) return builtins[name as keyof BuiltinValues];
    const variable = variables.find((candidate) => candidate.name === name);
    if (variable?.includeAll && variable.allValue !== undefined) return variable.allValue;
    throw new Error(`no value for $${name}`);
  };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_match, braced: string | undefined, plain: string | undefined) =>
    valueOf((braced ?? plain)!),
  );
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

/** Every panel query of every dashboard, variables substituted. */
export function panelQueries(builtins: BuiltinValues, files: DashboardFile[] = loadDashboards()): PanelQuery[] {
  return files.flatMap(({ dashboard }) => {
    const variables = dashboard.templating?.list ?? [];
    return (dashboard.panels ?? []).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        dashboard: dashboard.title ?? '',
        panel: panel.title ?? '',
        refId: target.refId ?? '',
        expr: substituteVariables(target.expr ?? '', variables, builtins),
      })),
    );
  });
}

export interface LabelValuesQuery {
  dashboard: string;
  variable: string;
  /** Series selector, variables substituted. */
  match: string;
  label: string;
}

/** The `label_values(selector, label)` queries of the template variables, variables substituted. */
export function variableQueries(builtins: BuiltinValues, files: DashboardFile[] = loadDashboards()): LabelValuesQuery[] {
  return files.flatMap(({ dashboard }) => {
    const variables = dashboard.templating?.list ?? [];
    return variables
      .filter((variable) => variable.type === 'query')
      .map((variable) => {
        const parsed = /^label_values\((.+),\s*(\w+)\)$/.exec(variable.definition ?? '');
        if (!parsed) throw new Error(`${dashboard.title}: variable ${variable.name} is not label_values(selector, label)`);
        return {
          dashboard: dashboard.title ?? '',
          variable: variable.name ?? '',
          match: substituteVariables(parsed[1]!, variables, builtins),
          label: parsed[2]!,
        };
      });
  });
}
