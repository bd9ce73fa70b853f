// The live monitoring stack for the monitoring integration tests: real PostgreSQL and Redis (with the
// Upstash REST bridge), our gateway, our API as a separate process (`node --import tsx api/node.ts`, as
// `npm start`) pushing to the gateway, and real Prometheus scraping the gateway with the shipped
// prometheus.yml (targets pointed at these processes, intervals shortened). Everything on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgresClient from 'postgres';
import { parse, stringify } from 'yaml';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway, type RunningGateway } from '../../pushgateway/server.js';
import {
  freePort,
  httpOk,
  makeTempDir,
  removeDir,
  spawnLogged,
  startPostgres,
  startPrometheus,
  startRedis,
  startRedisBridge,
  waitUntil,
  type RunningPostgres,
  type RunningRedisBridge,
  type RunningService,
} from './services/index.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const monitoringDir = join(repoRoot, 'monitoring');

/** The API's SERVICE_NAME, hence the `job` of its series. */
export const API_JOB = 'api';
export const PUSH_INTERVAL_MS = 300;

interface ScrapeConfig {
  job_name: string;
  honor_labels?: boolean;
  scrape_interval?: string;
  basic_auth?: { username: string; password_file: string };
  static_configs: Array<{ targets: string[] }>;
}
interface PrometheusConfig {
  global: Record<string, unknown>;
  rule_files?: string[];
  alerting?: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  scrape_configs: ScrapeConfig[];
}

/**
 * The shipped prometheus.yml with its targets replaced: the gateway by ours, the exporters (not
 * installed here) by a loopback port where nothing listens, so their `up` series exist with value 0.
 */
export function testPrometheusConfig(options: {
  gateway: string;
  deadTarget: string;
  alertmanager?: string;
  scrapePasswordFile: string;
}): string {
  const config = parse(readFileSync(join(monitoringDir, 'prometheus.yml'), 'utf8')) as PrometheusConfig;
  config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' };
  config.rule_files = ['{{dir}}/alerts.yml'];
  config.alerting = options.alertmanager ? { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } : undefined;
  if (!config.alerting) delete config.alerting;
  const targets: Record<string, string> = {
    pushgateway: options.gateway,
    postgres: options.deadTarget,
    redis: options.deadTarget,
    prometheus: options.deadTarget,
    alertmanager: options.alertmanager ?? options.deadTarget,
  };
  for (const scrape of config.scrape_configs) {
    const target = targets[scrape.job_name];
    if (!target) throw new Error(`prometheus.yml has a scrape job the test does not know: ${scrape.job_name}`);
    scrape.static_configs = [{ targets: [target] }];
    if (scrape.basic_auth) scrape.basic_auth.password_file = options.scrapePasswordFile;
  }
  return stringify(config);
}

/** The shipped alerts.yml, optionally with every `for:` shortened (the alerting test's copy). */
export function alertRules({ forDuration }: { forDuration?: string } = {}): string {
  const text = readFileSync(join(monitoringDir, 'alerts.yml'), 'utf8');
  if (forDuration === undefined) return text;
  const rules = parse(text) as { groups: Array<{ rules: Array<{ for?: string }> }> };
  for (const group of rules.groups) for (const rule of group.rules) rule.for = forDuration;
  return stringify(rules);
}

export interface MonitoringStack {
  apiUrl: string;
  gateway: RunningGateway;
  gatewayPushToken: string;
  postgres: RunningPostgres;
  databaseUrl: string;
  prometheus: RunningService;
  /**
   * Renames the users table away, as a broken migration would: the API's user routes then fail with
   * 500 at once. (Stopping PostgreSQL also gives 5xx, but the answers then slow down to seconds under
   * concurrency while the driver backs off reconnecting, which would make the tests slow.)
   */
  breakUsersTable(): Promise<void>;
  /** The API process's last log lines, for failure messages. */
  apiLogTail(): string;
  stop(): Promise<void>;
}

export async function startMonitoringStack(options: { rules: string; alertmanager?: string }): Promise<MonitoringStack> {
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const postgres = await startPostgres();
    cleanups.push(() => postgres.stop());
    const databaseUrl = await postgres.createDatabase('monitoring');

    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const bridge: RunningRedisBridge = await startRedisBridge(redis.url);
    cleanups.push(() => bridge.stop());

    const gatewayPushToken = randomBytes(16).toString('hex');
    const scrapePassword = randomBytes(16).toString('hex');
    const gateway = await startGateway({
      config: loadGatewayConfig({
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: '0',
        GATEWAY_PUSH_TOKEN: gatewayPushToken,
        GATEWAY_SCRAPE_USER: 'prometheus',
        GATEWAY_SCRAPE_PASSWORD: scrapePassword,
        GATEWAY_MAX_SERIES: '20000',
      }),
      logger: createGatewayLogger('warn'),
    });
    cleanups.push(() => gateway.stop());

    const apiDir = makeTempDir('monitoring-api');
    cleanups.push(async () => removeDir(apiDir));
    const apiPort = await freePort();
    // Elasticsearch does not run here: the shipper points at a loopback port where nothing listens, so
    // its counters exist and what it cannot ship is counted as dropped (the Errors dashboard's data).
    const unreachableElasticsearch = `http://127.0.0.1:${await freePort()}`;
    const api = spawnLogged('api', process.execPath, ['--import', 'tsx', join(repoRoot, 'api', 'node.ts')], apiDir, {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(apiPort),
        DATABASE_URL: databaseUrl,
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: bridge.token,
        PUSHGATEWAY_URL: gateway.url,
        PUSHGATEWAY_TOKEN: gatewayPushToken,
        PUSH_INTERVAL_MS: String(PUSH_INTERVAL_MS),
        SERVICE_NAME: API_JOB,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '1000000',
        SHUTDOWN_TIMEOUT_MS: '2000',
        ELASTICSEARCH_URL: unreachableElasticsearch,
      },
    });
    cleanups.push(() => api.stop('SIGTERM'));
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    try {
      await waitUntil(() => httpOk(`${apiUrl}/livez`), { what: 'API', timeoutMs: 60_000 });
    } catch (error) {
      throw new Error(`${String(error)}\n${api.logTail()}`);
    }

    const prometheus = await startPrometheus({
      config: testPrometheusConfig({
        gateway: new URL(gateway.url).host,
        deadTarget: `127.0.0.1:${await freePort()}`,
        ...(options.alertmanager ? { alertmanager: options.alertmanager } : {}),
        scrapePasswordFile: '{{dir}}/gateway_scrape_password',
      }),
      files: { 'alerts.yml': options.rules, gateway_scrape_password: scrapePassword },
    });
    cleanups.push(() => prometheus.stop());

    return {
      apiUrl,
      gateway,
      gatewayPushToken,
      postgres,
      databaseUrl,
      prometheus,
      async breakUsersTable() {
        const admin = postgresClient(databaseUrl, { max: 1, onnotice: () => {} });
        try {
          await admin`alter table users rename to users_offline`;
        } finally {
          await admin.end({ timeout: 1 });
        }
      },
      // Long JSON log lines are cut so a failure message stays readable.
      apiLogTail: () =>
        api
          .logTail(20)
          .split('\n')
          .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line))
          .join('\n'),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Sends requests with at most `concurrency` in flight; returns the status of each, in order. */
export async function sendAll(requests: Array<() => Promise<Response>>, concurrency = 8): Promise<number[]> {
  const statuses: number[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      const response = await requests[index]!();
      await response.arrayBuffer();
      statuses[index] = response.status;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/** One instant query's value, or undefined when it returns nothing. */
export async function scalarQuery(prometheusUrl: string, query: string): Promise<number | undefined> {
  const params = new URLSearchParams({ query });
  const response = await fetch(`${prometheusUrl}/api/v1/query?${params}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: Array<{ value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`${query}: ${body.error}`);
  const first = body.data?.result[0];
  return first ? Number(first.value[1]) : undefined;
}
