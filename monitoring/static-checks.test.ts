import { describe, expect, it } from 'vitest';
import {
  amtoolCheckConfig,
  amtoolRenderTemplates,
  composeConfig,
  dashboardLint,
  promtoolCheckConfig,
  promtoolCheckRules,
  promtoolCheckTopologies,
  promtoolTestRules,
  shellcheckScripts,
} from './static-checks.js';

// The real binaries (Debian prometheus, prometheus-alertmanager, docker-compose, shellcheck).
describe('static checks of the monitoring stack', () => {
  it('promtool accepts prometheus.yml and its rule file', async () => {
    const result = await promtoolCheckConfig();
    expect(result.output).toContain('SUCCESS');
    expect(result.ok, result.output).toBe(true);
  });

  it('promtool accepts the three topology examples (one gateway, replicas, remote write only)', async () => {
    const result = await promtoolCheckTopologies();
    expect(result.ok, result.output).toBe(true);
    for (const file of ['one-gateway', 'replicas', 'remote-write-only'])
      expect(result.output).toContain(`SUCCESS: topologies/${file}.yml is valid`);
  });

  it('promtool accepts the 13 alert rules', async () => {
    const result = await promtoolCheckRules();
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toContain('SUCCESS: 13 rules found');
  });

  it('the promtool unit tests of the rules pass', async () => {
    const result = await promtoolTestRules();
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toContain('SUCCESS');
  });

  it('amtool accepts alertmanager.yml with its templates', async () => {
    const result = await amtoolCheckConfig();
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toMatch(/3 receivers/);
    expect(result.output).toMatch(/3 inhibit rules/);
  });

  it('amtool renders the email and Slack templates', async () => {
    const result = await amtoolRenderTemplates();
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toContain('<h2>[');
  });

  it('docker-compose validates the compose file with both profiles', async () => {
    const result = await composeConfig();
    expect(result.ok, result.output).toBe(true);
  });

  it('shellcheck finds nothing in the deploy scripts', async () => {
    const result = await shellcheckScripts();
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toBe('');
  });

  it('the dashboard lint passes', () => {
    const result = dashboardLint();
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });
});
