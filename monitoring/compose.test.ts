// What `docker-compose config` does not check in docker-compose.prod.yml.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../api/config.js';
import { gatewayNodeFlags } from '../build.js';
import { repoRoot } from './static-checks.js';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string[] };
  command?: string[];
  stop_grace_period?: string;
}
const composeText = readFileSync(join(repoRoot, 'docker-compose.prod.yml'), 'utf8');
const compose = parse(composeText) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
};
const services = Object.entries(compose.services);
const byProfile = (profile: string | undefined) =>
  services
    .filter(([, s]) => (s.profiles ?? [])[0] === profile)
    .map(([name]) => name)
    .sort();

describe('docker-compose.prod.yml', () => {
  it('gives the api and the gateway longer to stop than their shutdown deadline (Docker would SIGKILL after 10 s)', () => {
    const seconds = (period: string | undefined) => Number(/^(\d+)s$/.exec(period ?? '')?.[1] ?? 10);
    for (const name of ['api', 'gateway']) {
      const service = compose.services[name]!;
      const shutdownTimeoutMs = loadConfig({ SHUTDOWN_TIMEOUT_MS: service.environment?.SHUTDOWN_TIMEOUT_MS }).shutdownTimeoutMs;
      expect(seconds(service.stop_grace_period) * 1000, name).toBeGreaterThanOrEqual(shutdownTimeoutMs + 10_000);
    }
  });

  it('has the core services, and the monitoring and logging profiles', () => {
    expect(byProfile(undefined)).toEqual(['api', 'gateway', 'postgres', 'postgres-exporter', 'redis', 'redis-exporter', 'redis-http']);
    expect(byProfile('monitoring')).toEqual(['alertmanager', 'grafana', 'prometheus']);
    expect(byProfile('logging')).toEqual(['elasticsearch', 'elasticsearch-setup', 'kibana', 'logging-setup']);
  });

  it.each(services)('%s has a health check', (_name, service) => {
    expect(service.healthcheck?.test?.length).toBeGreaterThan(1);
    expect(service.healthcheck?.test?.[0]).toMatch(/^CMD(-SHELL)?$/);
  });

  it.each(services)('%s runs an image pinned to a version', (_name, service) => {
    const image = service.image ?? '';
    const tag = /:([^/:]+)$/.exec(image)?.[1] ?? '';
    expect(tag, `${image} has no tag`).not.toBe('');
    expect(tag).not.toMatch(/^(latest|stable|main|edge)$/);
    if (image.startsWith('hono-edge-metrics:')) {
      // Our image, built from the Dockerfile by the api/gateway services: the tag comes from APP_VERSION
      // with a versioned default.
      expect(image).toMatch(/:\$\{APP_VERSION:-\d+\.\d+\.\d+\}$/);
    } else {
      expect(tag, `${image} is not a version`).toMatch(/^v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/);
    }
  });

  it('builds our image from the Dockerfile, and every service that uses it shares the one tag', () => {
    const ours = services.filter(([, s]) => s.image?.startsWith('hono-edge-metrics:'));
    expect(ours.map(([name]) => name).sort()).toEqual(['api', 'gateway', 'logging-setup']);
    expect(new Set(ours.map(([, s]) => s.image)).size).toBe(1);
    expect(
      ours
        .filter(([, s]) => s.build)
        .map(([name]) => name)
        .sort(),
    ).toEqual(['api', 'gateway']);
  });

  it('pins Elasticsearch and Kibana to 8.19.x and runs Prometheus/Alertmanager at the tested versions', () => {
    expect(compose.services.elasticsearch!.image).toMatch(/:8\.19\.\d+$/);
    expect(compose.services.kibana!.image).toMatch(/:8\.19\.\d+$/);
    expect(compose.services.prometheus!.image).toBe('prom/prometheus:v2.42.0');
    expect(compose.services.alertmanager!.image).toBe('prom/alertmanager:v0.25.0');
  });

  it('writes no secret inline: secret-looking variables are *_FILE paths or come from env files', () => {
    const secretName = /(PASSWORD|TOKEN|SECRET|API_KEY|ENCRYPTIONKEY|DATABASE_URL|DATA_SOURCE_NAME)/i;
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!secretName.test(key)) continue;
        expect(`${name}.${key}=${value}`).toMatch(/_FILE=\/run\/secrets\/\w+$/);
      }
      for (const file of service.env_file ?? []) expect(file).toMatch(/^\.\/secrets\//);
    }
    // No credentials in URLs, no token-like strings (24+ letters and digits mixed) anywhere.
    expect(composeText).not.toMatch(/:\/\/[^/\s:@]+:[^/\s@]+@/);
    expect(composeText).not.toMatch(/(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[a-z])\b[A-Za-z0-9]{24,}\b/);
  });

  it('reads every docker secret from a file under ./secrets, and every used secret is declared', () => {
    for (const [name, secret] of Object.entries(compose.secrets)) expect(secret.file, name).toBe(`./secrets/${name}`);
    for (const [, service] of services) for (const secret of service.secrets ?? []) expect(Object.keys(compose.secrets)).toContain(secret);
  });

  it('keeps state in named volumes, and every named volume is declared', () => {
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) {
          expect(volume, `${name}: bind mounts are read-only config`).toMatch(/:ro$/);
        } else {
          expect(Object.keys(compose.volumes), `${name}: ${source}`).toContain(source);
        }
      }
    }
    for (const stateful of ['postgres', 'redis', 'gateway', 'prometheus', 'alertmanager', 'grafana', 'elasticsearch']) {
      expect(
        compose.services[stateful]!.volumes?.some((v) => !v.startsWith('./')),
        stateful,
      ).toBe(true);
    }
  });

  it('exposes only the API and Grafana beyond 127.0.0.1', () => {
    for (const [name, service] of services) {
      for (const port of service.ports ?? []) {
        if (name === 'api' || name === 'grafana') continue;
        expect(port, name).toMatch(/^'?127\.0\.0\.1:/);
      }
    }
  });

  it('mounts the monitoring configuration that the checks validate', () => {
    expect(compose.services.prometheus!.volumes).toContain('./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(compose.services.prometheus!.volumes).toContain('./monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(compose.services.alertmanager!.volumes).toContain('./monitoring/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro');
    expect(compose.services.grafana!.volumes).toContain('./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(compose.services.grafana!.volumes).toContain('./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

  it('is multi-stage, runs as a non-root user and checks /api/health', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/api\/health/m);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:\d+\.\d+\.\d+-/);
  });

  it('runs our services from the compiled output, never through a TypeScript loader', () => {
    expect(compose.services.gateway!.command).toEqual(['node', ...gatewayNodeFlags, 'dist/pushgateway/node.js']);
    expect(compose.services['logging-setup']!.command!.join(' ')).toContain('node dist/monitoring/elasticsearch/setup.js');
    for (const [name, service] of services) expect(JSON.stringify(service.command ?? []), name).not.toMatch(/tsx|\.ts\b/);
  });

  it('compiles every source the entries import and runs only dist/, migrations and production dependencies', async () => {
    // esbuild walks the same import graph `npm run build` bundles (packages left external): every source file
    // must be inside what the build stage copies, every package in "dependencies" (the runtime stage runs
    // npm ci --omit=dev), and the runtime stage copies nothing but the compiled output and the migrations.
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const buildStage = stages.find((stage) => / AS build$/m.test(stage))!;
    const runtimeStage = stages.find((stage) => / AS runtime$/m.test(stage))!;
    const copiedForBuild = [...buildStage.matchAll(/^COPY (\S+) \.\/\S+$/gm)].map((match) => match[1]!);
    expect(buildStage).toMatch(/^RUN npm run build$/m);
    const copiedForRuntime = [...runtimeStage.matchAll(/^COPY (?:--from=(\w+) )?--chown=\S+ (\S+) /gm)].map(
      (match) => `${match[1] ?? ''}:${match[2]}`,
    );
    expect(copiedForRuntime).toEqual(['deps:/app/node_modules', ':package.json', 'build:/app/dist', ':drizzle/migrations']);
    expect(runtimeStage).toMatch(/^CMD \["node", "dist\/api\/node\.js"\]$/m);
    expect(runtimeStage).not.toMatch(/tsx/);
    const entries = ['api/node.ts', 'pushgateway/node.ts', 'api/db/migrate-cli.ts', 'monitoring/elasticsearch/setup.ts'];
    const result = await build({
      entryPoints: entries.map((entry) => join(repoRoot, entry)),
      absWorkingDir: repoRoot,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      write: false,
      metafile: true,
      outdir: 'unused',
      logLevel: 'silent',
    });
    const sources = Object.keys(result.metafile.inputs);
    expect(sources.length).toBeGreaterThan(20);
    expect(sources.filter((file) => !copiedForBuild.some((copied) => file === copied || file.startsWith(`${copied}/`)))).toEqual([]);
    const dependencies = Object.keys(
      (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
    );
    const packageOf = (path: string) => (path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!);
    const externals = new Set(
      Object.values(result.metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path)),
    );
    const missing = [...externals].filter(
      (path) => !path.startsWith('node:') && !builtinModules.includes(path) && !dependencies.includes(packageOf(path)),
    );
    expect(missing).toEqual([]);
    expect(dependencies).not.toContain('tsx');
  });
});
