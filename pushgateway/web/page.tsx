// The operator's page, server-rendered with hono/jsx (no client framework; works on Node and Workers):
// GET / lists every group (grouping labels, how it was last written, last push and last failed push, series,
// deduplicated retries, when it expires) and expands one to its metrics in a <details> element; each group has a
// delete form (the push token, a confirmation) handled by the gateway's own small script; GET /status shows build,
// settings without secrets, store, the instances serving it, limits and how full they are. Reads are protected by
// the scrape credentials like every other read (http/auth.ts).

import type { Env, Hono } from 'hono';
import type { Child, FC } from 'hono/jsx';
import { groupExpiresAtMs } from '../core/expiry.js';
import { renderFamilies } from '../core/exposition-format.js';
import type { Group, GroupWriteMode } from '../core/model.js';
import { compareGroupKeys } from '../core/scrape-body.js';
import type { ReplicaHeartbeat } from '../store/replica-heartbeats.js';
import type { GatewayStore } from '../store/types.js';
import { contentSecurityPolicy, pageIcon, pageScript, pageStyles } from './assets.js';

/** What serves the store: one process, Durable Object shards, or replicas sharing Redis (their live heartbeats). */
export type GatewayInstances =
  | { kind: 'single' }
  | { kind: 'shards'; shards: number }
  | { kind: 'replicas'; replicas: ReplicaHeartbeat[]; selfId: string | undefined };

export interface WebPageOptions {
  store: GatewayStore;
  clock: () => number;
  /** GATEWAY_ROUTE_PREFIX: links and the delete URLs start with it. */
  routePrefix: string;
  /** Whether pushes and deletes need the bearer token (the page then asks for it). */
  pushTokenRequired: boolean;
  groupTtlSeconds: number;
  maxSeries: number;
  maxBodyBytes: number;
  storeKind: string;
  version: string;
  startedAtMs: number;
  /** The effective configuration, secrets reduced to whether they are set (as /api/v1/status). */
  flags: Record<string, string>;
  instances: () => Promise<GatewayInstances>;
}

const base64Url = (value: string) => {
  const bytes = new TextEncoder().encode(value);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

/** The group's URL with every value in base64, so any value (slashes, empty) is addressed exactly. */
export function groupUrl(prefix: string, labels: Record<string, string>): string {
  const value = (v: string) => (v === '' ? '=' : base64Url(v));
  let url = `${prefix}/metrics/job@base64/${value(labels.job ?? '')}`;
  for (const name of Object.keys(labels).sort()) if (name !== 'job') url += `/${name}@base64/${value(labels[name]!)}`;
  return url;
}

const writeModeText: Record<GroupWriteMode, string> = {
  replaced: 'replaced',
  aggregated: 'aggregated',
  'otlp-delta': 'OTLP delta',
  'otlp-cumulative': 'OTLP cumulative',
};

const time = (ms: number) => (ms === 0 ? 'never' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const seriesOf = (group: Group) => [...group.families.values()].reduce((n, family) => n + family.metrics.length, 0);
const byJobFirst = ([a]: [string, string], [b]: [string, string]) => (a === 'job' ? -1 : b === 'job' ? 1 : a < b ? -1 : a > b ? 1 : 0);
const labelList = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(byJobFirst)
    .map(([name, value]) => (
      <span class="label">
        {name}="{value}"
      </span>
    ));

const Layout: FC<{ title: string; prefix: string; children?: Child }> = ({ title, prefix, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>{title}</title>
      <link rel="icon" href={`${prefix}/static/gateway-icon.svg`} />
      <link rel="stylesheet" href={`${prefix}/static/gateway-page.css`} />
      <script src={`${prefix}/static/gateway-page.js`} defer />
    </head>
    <body>
      <nav>
        <a href={`${prefix}/`}>Groups</a>
        <a href={`${prefix}/status`}>Status</a>
        <a href={`${prefix}/metrics`}>/metrics</a>
      </nav>
      <h1>{title}</h1>
      {children}
    </body>
  </html>
);

const GroupRow: FC<{ group: Group; options: WebPageOptions; now: number }> = ({ group, options, now }) => {
  const failed = group.lastFailureMs > group.lastPushMs;
  const expiresAtMs = groupExpiresAtMs(group, options.groupTtlSeconds * 1000);
  const name = Object.entries(group.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return (
    <tr data-group={name}>
      <td>
        {labelList(group.labels)}
        <details>
          <summary>{group.families.size === 1 ? '1 family' : `${group.families.size} families`}</summary>
          <pre>{renderFamilies([...group.families.values()], 'text')}</pre>
        </details>
      </td>
      <td class="mode">
        {group.writeMode === undefined ? <span class="muted">none (only refused pushes)</span> : writeModeText[group.writeMode]}
      </td>
      <td>{time(group.lastPushMs)}</td>
      <td class={failed ? 'failed' : 'muted'}>{time(group.lastFailureMs)}</td>
      <td class="series">{seriesOf(group)}</td>
      <td class="retries">{group.deduplicatedRetries}</td>
      <td class="expires">
        {expiresAtMs === undefined ? 'never (no TTL)' : time(expiresAtMs)}
        {expiresAtMs === undefined ? null : <div class="muted">in {Math.max(0, Math.round((expiresAtMs - now) / 1000))} s</div>}
      </td>
      <td>
        {/* method="post": should the script not run, a plain submit must not put the token into a URL. */}
        <form method="post" data-delete-url={groupUrl(options.routePrefix, group.labels)} data-group={name}>
          {options.pushTokenRequired ? (
            <input
              type="password"
              name="token"
              placeholder="push token"
              aria-label={`push token for ${name}`}
              autocomplete="off"
              required
            />
          ) : null}
          <button type="submit">Delete</button>
          <span class="result" role="status" />
        </form>
      </td>
    </tr>
  );
};

const Instances: FC<{ instances: GatewayInstances }> = ({ instances }) => {
  if (instances.kind === 'single') return <span>single instance</span>;
  if (instances.kind === 'shards')
    return <span>{instances.shards === 1 ? 'one Durable Object' : `${instances.shards} Durable Object shards`}</span>;
  if (instances.replicas.length === 0) return <span>no live replica heartbeat in Redis (Worker isolates write none)</span>;
  return (
    <table class="replicas">
      <thead>
        <tr>
          <th>replica</th>
          <th>started</th>
          <th>version</th>
          <th>last seen</th>
        </tr>
      </thead>
      <tbody>
        {instances.replicas.map((replica) => (
          <tr data-replica={replica.id}>
            <td>
              <code>{replica.id}</code>
              {replica.id === instances.selfId ? <span class="muted"> (this one)</span> : null}
            </td>
            <td>{time(replica.startedAtMs)}</td>
            <td>{replica.version}</td>
            <td>{time(replica.lastSeenMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

export function registerWebPage<E extends Env>(app: Hono<E>, options: WebPageOptions): void {
  const prefix = options.routePrefix;
  const secured = {
    'content-security-policy': contentSecurityPolicy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };

  app.get('/', async (c) => {
    const now = options.clock();
    let groups: Group[];
    let stats;
    try {
      groups = (await options.store.groups(now)).sort((a, b) => compareGroupKeys(a.key, b.key));
      stats = await options.store.stats(now);
    } catch {
      return c.text('the gateway store is unavailable', 503, secured);
    }
    const page = (
      <Layout title="Pushgateway groups" prefix={prefix}>
        <p class="muted">
          {stats.groups} groups, {stats.series} series; pushes not applied twice thanks to their Idempotency-Key: {stats.deduplicatedPushes}
          .{options.groupTtlSeconds > 0 ? ` Groups expire ${options.groupTtlSeconds} s after their last push.` : ' Groups do not expire.'}
        </p>
        <table>
          <thead>
            <tr>
              <th>grouping labels</th>
              <th>written as</th>
              <th>last push</th>
              <th>last failed push</th>
              <th>series</th>
              <th>deduplicated retries</th>
              <th>expires{options.groupTtlSeconds > 0 ? ` (TTL ${options.groupTtlSeconds} s)` : ''}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => (
              <GroupRow group={group} options={options} now={now} />
            ))}
          </tbody>
        </table>
      </Layout>
    );
    return c.html(page, 200, secured);
  });

  app.get('/status', async (c) => {
    const now = options.clock();
    let stats;
    let instances;
    try {
      stats = await options.store.stats(now);
      instances = await options.instances();
    } catch {
      return c.text('the gateway store is unavailable', 503, secured);
    }
    const fill = options.maxSeries > 0 ? `${((100 * stats.series) / options.maxSeries).toFixed(1)} %` : 'no limit';
    const page = (
      <Layout title="Pushgateway status" prefix={prefix}>
        <table>
          <tbody>
            <tr>
              <th>version</th>
              <td>{options.version}</td>
            </tr>
            <tr>
              <th>started</th>
              <td>{time(options.startedAtMs)}</td>
            </tr>
            <tr>
              <th>store</th>
              <td>{options.storeKind}</td>
            </tr>
            <tr>
              <th>instances</th>
              <td>
                <Instances instances={instances} />
              </td>
            </tr>
            <tr>
              <th>group TTL</th>
              <td>{options.groupTtlSeconds > 0 ? `${options.groupTtlSeconds} s after the last push` : 'none: groups never expire'}</td>
            </tr>
            <tr>
              <th>series</th>
              <td>
                {stats.series} of {options.maxSeries > 0 ? options.maxSeries : 'unlimited'} ({fill})
              </td>
            </tr>
            <tr>
              <th>groups</th>
              <td>{stats.groups}</td>
            </tr>
            <tr>
              <th>largest push body</th>
              <td>{options.maxBodyBytes} bytes</td>
            </tr>
            <tr>
              <th>deduplicated retries</th>
              <td>{stats.deduplicatedPushes}</td>
            </tr>
          </tbody>
        </table>
        <h2>Settings</h2>
        <table>
          <tbody>
            {Object.entries(options.flags).map(([name, value]) => (
              <tr>
                <th>
                  <code>{name}</code>
                </th>
                <td>
                  <code>{value}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>
    );
    return c.html(page, 200, secured);
  });

  app.get('/static/gateway-page.js', (c) =>
    c.body(pageScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    }),
  );
  app.get('/static/gateway-icon.svg', (c) => c.body(pageIcon, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));
  app.get('/static/gateway-page.css', (c) =>
    c.body(pageStyles, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    }),
  );
}
