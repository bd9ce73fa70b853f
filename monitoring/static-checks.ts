// The static checks of the monitoring stack, run by `npm run check:monitoring` (the CLI, monitoring/check.ts)
// and by the test suite (monitoring/static-checks.test.ts): the real promtool, amtool, docker-compose and
// shellcheck binaries, plus the dashboard lint (monitoring/grafana/dashboards.ts).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintDashboards } from './grafana/dashboards.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const monitoringDir = join(repoRoot, 'monitoring');

export interface CheckResult {
  name: string;
  ok: boolean;
  output: string;
}

/** Debian package that provides each binary, for the message when it is missing. */
const binaries: Record<string, string> = {
  promtool: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'docker-compose': 'docker-compose',
  shellcheck: 'shellcheck',
};

function findBinary(name: string): string | undefined {
  return ['/usr/bin', '/usr/local/bin', '/bin'].map((dir) => join(dir, name)).find((path) => existsSync(path));
}

async function runBinary(name: string, args: string[], cwd = repoRoot): Promise<{ ok: boolean; output: string }> {
  const binary = findBinary(name);
  if (!binary) {
    return {
      ok: false,
      output: `${name} not found: install the Debian package "${binaries[name]}" (apt-get install -y ${binaries[name]})`,
    };
  }
  return await new Promise((resolvePromise) => {
    execFile(binary, args, { cwd, timeout: 60_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolvePromise({ ok: !error, output: `${stdout}${stderr}`.trim() });
    });
  });
}

export async function promtoolCheckConfig(): Promise<CheckResult> {
  return {
    name: 'promtool check config monitoring/prometheus.yml',
    ...(await runBinary('promtool', ['check', 'config', 'prometheus.yml'], monitoringDir)),
  };
}

/** The example configurations of monitoring/topologies/ (one gateway, replicas, remote write only). */
export const topologyConfigs = ['topologies/one-gateway.yml', 'topologies/replicas.yml', 'topologies/remote-write-only.yml'];

export async function promtoolCheckTopologies(): Promise<CheckResult> {
  return {
    name: `promtool check config ${topologyConfigs.map((file) => `monitoring/${file}`).join(' ')}`,
    ...(await runBinary('promtool', ['check', 'config', ...topologyConfigs], monitoringDir)),
  };
}

export async function promtoolCheckRules(): Promise<CheckResult> {
  return {
    name: 'promtool check rules monitoring/alerts.yml',
    ...(await runBinary('promtool', ['check', 'rules', 'alerts.yml'], monitoringDir)),
  };
}

export async function promtoolTestRules(): Promise<CheckResult> {
  return {
    name: 'promtool test rules monitoring/alerts.test.yml',
    ...(await runBinary('promtool', ['test', 'rules', 'alerts.test.yml'], monitoringDir)),
  };
}

export async function amtoolCheckConfig(): Promise<CheckResult> {
  return {
    name: 'amtool check-config monitoring/alertmanager.yml',
    ...(await runBinary('amtool', ['check-config', 'alertmanager.yml'], monitoringDir)),
  };
}

/** The named templates alertmanager.yml's receivers use. */
export const notificationTemplates = ['notification.title', 'slack.text', 'email.html'];

/** Renders each notification template with amtool's sample alerts: catches errors that only show when sending. */
export async function amtoolRenderTemplates(): Promise<CheckResult> {
  const outputs: string[] = [];
  let ok = true;
  for (const name of notificationTemplates) {
    const result = await runBinary(
      'amtool',
      ['template', 'render', '--template.glob=alertmanager/templates/*.tmpl', `--template.text={{ template "${name}" . }}`],
      monitoringDir,
    );
    ok &&= result.ok && result.output.trim().length > 0;
    outputs.push(`--- ${name}\n${result.output}`);
  }
  return { name: `amtool template render (${notificationTemplates.join(', ')})`, ok, output: outputs.join('\n') };
}

/** The env files docker-compose.prod.yml names; `config` refuses to run when one is missing. */
export const composeEnvFiles = ['api.env', 'gateway.env', 'redis-http.env', 'kibana.env'];

/**
 * `docker-compose config` with every profile. The env files hold secrets and are not in the repository,
 * so the file is validated from a scratch project directory that has empty ones.
 */
export async function composeConfig(): Promise<CheckResult> {
  const projectDir = mkdtempSync(join(tmpdir(), 'compose-check-'));
  try {
    mkdirSync(join(projectDir, 'secrets'));
    for (const file of composeEnvFiles) writeFileSync(join(projectDir, 'secrets', file), '');
    const result = await runBinary('docker-compose', [
      '--project-directory',
      projectDir,
      '-f',
      join(repoRoot, 'docker-compose.prod.yml'),
      '--profile',
      'monitoring',
      '--profile',
      'logging',
      'config',
      '--quiet',
    ]);
    return { name: 'docker-compose -f docker-compose.prod.yml --profile monitoring --profile logging config', ...result };
  } finally {
    rmSync(projectDir, { recursive: true, force: true });
  }
}

export const shellScripts = ['deploy.sh', 'deploy/elasticsearch-users.sh'];

export async function shellcheckScripts(): Promise<CheckResult> {
  return { name: `shellcheck ${shellScripts.join(' ')}`, ...(await runBinary('shellcheck', shellScripts)) };
}

export function dashboardLint(): CheckResult {
  const problems = lintDashboards();
  return { name: 'dashboard lint monitoring/grafana/dashboards/*.json', ok: problems.length === 0, output: problems.join('\n') };
}

export async function runAllChecks(): Promise<CheckResult[]> {
  return [
    await promtoolCheckConfig(),
    await promtoolCheckTopologies(),
    await promtoolCheckRules(),
    await promtoolTestRules(),
    await amtoolCheckConfig(),
    await amtoolRenderTemplates(),
    await composeConfig(),
    await shellcheckScripts(),
    dashboardLint(),
  ];
}
