// The representative route: GET /api/users/:id on real PostgreSQL, our API with everything on (api/node.ts:
// request metrics, collectors and pusher, ECS access line, shipping, every query timed) against a bare Hono +
// Drizzle (postgres.js) app answering the same query from the same database and row. Server CPU per request
// from /proc, alternating rounds, wrk on the other core.
import postgres from 'postgres';
import { startPostgres } from '../../test/support/services/postgres.js';
import { type LoadResult, runWrk } from '../lib/load.js';
import { type BenchProcess, LOAD_CPU, pinRunning, settle, startNodeServer } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, type BenchSettings } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { type OurApi, startOurApi } from './our-api.js';

const CONNECTIONS = 16;
const TARGET = 0.9;
const PREPARED_BARE = 'bare, the select prepared as our repository does';
const seededUser = { id: '0190a000-0000-7000-8000-000000000001', email: 'route-bench@example.com', name: 'Route Bench' };

async function seed(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`insert into users (id, email, name) values (${seededUser.id}, ${seededUser.email}, ${seededUser.name}) on conflict do nothing`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function bodyOf(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

/**
 * Measures the route on `ours` (already running on `databaseUrl`, migrated) and on the bare app started here on
 * the same database. Both must answer the seeded row with the same body before anything is measured.
 */
export async function measureRepresentativeRoute({
  ours,
  databaseUrl,
  settings,
  log,
}: {
  ours: OurApi;
  databaseUrl: string;
  settings: BenchSettings;
  log: (line: string) => void;
}): Promise<Table> {
  await seed(databaseUrl);
  const bare = await startNodeServer('bare-drizzle', 'bench/servers/bare-drizzle.ts', { env: { DATABASE_URL: databaseUrl } });
  const started = [bare];
  try {
    const bareTimed = await startNodeServer('bare-drizzle-timed', 'bench/servers/bare-drizzle.ts', {
      env: { DATABASE_URL: databaseUrl, BENCH_QUERY_TIMING: '1' },
    });
    started.push(bareTimed);
    const barePrepared = await startNodeServer('bare-drizzle-prepared', 'bench/servers/bare-drizzle.ts', {
      env: { DATABASE_URL: databaseUrl, BENCH_PREPARED: '1' },
    });
    started.push(barePrepared);
    // Our API built up one layer at a time on the same database (bench/servers/api-layer.ts, as in api-layers). The
    // pusher layer pushes to a gateway of its own: counters are summed across instances, and ours' count is checked.
    const layerGateway = await startNodeServer('gateway-layers', 'pushgateway/node.ts', {
      env: { GATEWAY_HOST: '127.0.0.1' },
      portEnv: ['GATEWAY_PORT'],
      readyPath: '/-/ready',
      cpu: LOAD_CPU,
    });
    started.push(layerGateway);
    const layers: Array<{ layer: string; name: string }> = [
      { layer: 'app', name: 'createApp (request id, routes, repository)' },
      { layer: 'metrics', name: '+ request metrics and query timing' },
      { layer: 'access-log', name: '+ ECS access log (stdout → /dev/null)' },
      { layer: 'shipping', name: '+ log shipping to the _bulk stand-in' },
      { layer: 'pusher', name: '+ collectors and pusher (every 5 s)' },
    ];
    const layerTargets: Array<{ name: string; server: BenchProcess }> = [];
    for (const { layer, name } of layers) {
      const server = await startNodeServer(`api-layer-${layer}-db`, 'bench/servers/api-layer.ts', {
        env: {
          BENCH_LAYER: layer,
          DATABASE_URL: databaseUrl,
          PUSHGATEWAY_URL: layerGateway.url,
          ...(ours.elasticsearchUrl ? { ELASTICSEARCH_URL: ours.elasticsearchUrl } : {}),
        },
      });
      started.push(server);
      layerTargets.push({ name, server });
    }
    const path = `/api/users/${seededUser.id}`;
    const targets: Array<{ name: string; server: BenchProcess }> = [
      { name: 'bare Hono + Drizzle (postgres.js)', server: bare },
      ...layerTargets,
      { name: 'ours, all on (api/node.ts)', server: ours.process },
      { name: 'bare + our query timing alone', server: bareTimed },
      { name: PREPARED_BARE, server: barePrepared },
    ];
    const bareBody = await bodyOf(`${bare.url}${path}`);
    for (const target of targets.slice(1)) {
      const body = await bodyOf(`${target.server.url}${path}`);
      if (body !== bareBody) throw new Error(`${target.name} answers differently:\n bare: ${bareBody}\n ${target.name}: ${body}`);
    }
    const queriesBefore = (await ours.pushedTotals()).dbQueries;
    let oursServed = 0;
    for (const target of targets) {
      log(`warming up ${target.name} on GET ${path}`);
      const warmUp = await runWrk({
        url: `${target.server.url}${path}`,
        connections: CONNECTIONS,
        durationSeconds: settings.warmupSeconds,
      });
      if (target.server === ours.process) oursServed += warmUp.requests;
      await settle(target.server, 5_000);
    }
    const results = await alternate<LoadResult & { cpuMicrosPerRequest: number }>(
      targets.map((target) => ({
        name: target.name,
        measure: async (round) => {
          const cpuBefore = target.server.cpuSeconds();
          const result = await runWrk({ url: `${target.server.url}${path}`, connections: CONNECTIONS, durationSeconds: settings.seconds });
          const cpuMicrosPerRequest = ((target.server.cpuSeconds() - cpuBefore) * 1e6) / result.requests;
          await settle(target.server, 5_000);
          if (target.server === ours.process) oursServed += result.requests;
          log(
            `round ${round + 1} ${target.name}: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${cpuMicrosPerRequest.toFixed(0)} µs CPU/request` +
              (result.errors + result.non2xx ? `, ${result.errors} errors, ${result.non2xx} non-2xx` : ''),
          );
          return { ...result, cpuMicrosPerRequest };
        },
      })),
      settings.rounds,
    );
    // The pusher pushes every 5 s: wait for one more push so the count includes the last round.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const queriesTimed = (await ours.pushedTotals()).dbQueries - queriesBefore;
    const cpu = (name: string) => results.get(name)!.map((run) => run.cpuMicrosPerRequest);
    const bareCpu = cpu(targets[0]!.name);
    const lastLayer = layerTargets.length;
    const rows = targets.map((target, index) => {
      const runs = results.get(target.name)!;
      const previous = index >= 1 && index <= lastLayer ? cpu(targets[index - 1]!.name) : undefined;
      return [
        target.name,
        formatSpread(spread(runs.map((run) => run.rps))),
        formatSpread(spread(runs.map((run) => run.p99Ms)), 2),
        formatSpread(spread(cpu(target.name)), 1),
        previous ? formatSpread(spread(cpu(target.name).map((micros, round) => micros - previous[round]!)), 1) : '',
        index === 0 ? '' : formatSpread(spread(cpu(target.name).map((micros, round) => micros - bareCpu[round]!)), 1),
        formatRatio(
          spread(pairedRatios(bareCpu, cpu(target.name))),
          target.server === ours.process ? { op: '>=', bound: TARGET } : undefined,
        ),
        index >= 1 && index <= lastLayer + 1 ? formatRatio(spread(pairedRatios(cpu(PREPARED_BARE), cpu(target.name)))) : '',
      ];
    });
    const failures = targets.flatMap((target) => {
      const bad = results.get(target.name)!.reduce((sum, run) => sum + run.errors + run.non2xx, 0);
      return bad ? [`${target.name}: ${bad} errors or non-2xx responses during measurement`] : [];
    });
    return {
      title: `Representative route: GET /api/users/:id on PostgreSQL, ${CONNECTIONS} connections, ${settings.rounds} rounds × ${settings.seconds} s`,
      columns: [
        'server (our layers cumulative)',
        'req/s',
        'p99 ms',
        'CPU µs/req',
        'added by the layer',
        'over bare',
        'capacity ÷ bare (CPU)',
        'capacity ÷ bare prepared',
      ],
      rows,
      notes: [
        "capacity ÷ bare = bare's CPU µs/request ÷ this one's, per round (/proc user+system of the server process), then median (min–max)",
        'bare: bench/servers/bare-drizzle.ts, Drizzle over postgres.js with its defaults (pool of 10), one point select per request built per request (unnamed statement); bare prepared: the same select as a Drizzle prepared query (named statement), as api/repository.ts runs it — the ratio to it is what observability alone costs',
        'servers pinned to CPU 1; wrk, PostgreSQL and the helpers (gateway, _bulk stand-in) to CPU 0',
        'layers: bench/servers/api-layer.ts on the same database (pool as api/db/postgres.ts opens it), the layers in the one observe middleware as api/node.ts configures them; api/node.ts adds stdout to a file and the database collector',
        `${ours.describe}; both read the same seeded row from the same database and answer the same body`,
        `checked on ours' gateway: db_queries_total grew by ${formatNumber(queriesTimed)} while ours served ${formatNumber(oursServed)} requests (warm-up included)` +
          (queriesTimed < oursServed ? ' — FEWER QUERIES TIMED THAN REQUESTS SERVED' : ''),
        ...failures,
      ],
    };
  } finally {
    for (const server of started) await server.stop();
  }
}

export const apiRouteSuite: Suite = {
  name: 'api-route',
  partOf: 'api',
  description:
    'GET /api/users/:id on real PostgreSQL: our API with everything on vs a bare Hono + Drizzle (postgres.js) app (also part of `api`)',
  async run(settings, log) {
    const postgresServer = await startPostgres();
    pinRunning(postgresServer.pid, LOAD_CPU);
    let ours: OurApi | undefined;
    try {
      const databaseUrl = await postgresServer.createDatabase('api_route');
      ours = await startOurApi({ shipping: true, databaseUrl });
      return [await measureRepresentativeRoute({ ours, databaseUrl, settings, log })];
    } finally {
      await ours?.stop();
      await postgresServer.stop();
    }
  },
};
