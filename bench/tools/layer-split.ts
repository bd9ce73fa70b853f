// Splits the cost of chosen api-layer variants (bench/servers/api-layer.ts) finer than the api-layers suite:
// alternating rounds of GET /livez on each, CPU µs per request from /proc with its system (kernel) part apart,
// and each variant minus the first, paired by round. A variant is `layer[:ship-transport]`, the transport
// `http` (the _bulk stand-in, default) or `in-process` (no HTTP client, no socket); `…@<path>` runs the
// api-layer.ts at <path> instead (another checkout's, for a before/after in the same run).
// Usage: BENCH_ROUNDS=8 BENCH_SECONDS=3 npx tsx bench/tools/layer-split.ts access-log shipping:in-process shipping
// (with BENCH_CPU_PROF=<dir> each server also writes a CPU profile; with BENCH_TRACE_GC=1 its GC lines are counted).
import { readFileSync } from 'node:fs';
import { runWrk } from '../lib/load.js';
import { type BenchProcess, startBulkStandIn, startNodeServer } from '../lib/processes.js';
import { alternate, settingsFromEnv } from '../lib/rounds.js';
import { spread } from '../lib/stats.js';

const CONNECTIONS = 50;
const specs = process.argv.slice(2);
if (specs.length === 0) throw new Error('usage: layer-split.ts <layer[:in-process]>…');
const settings = settingsFromEnv();

function systemSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // stime is the 15th field; the first after the parenthesised command is the 3rd.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / 100;
}

const format = (values: number[]) => {
  const { median, min, max } = spread(values);
  return `${median.toFixed(1)} (${min.toFixed(1)} to ${max.toFixed(1)})`;
};

const servers: BenchProcess[] = [];
try {
  const bulk = await startBulkStandIn();
  servers.push(bulk);
  const variants: Array<{ name: string; server: BenchProcess }> = [];
  for (const spec of specs) {
    const [variant, entry = 'bench/servers/api-layer.ts'] = spec.split('@');
    const [layer, transport = 'http'] = variant!.split(':');
    const server = await startNodeServer(`api-layer-${variants.length}`, entry, {
      env: { BENCH_LAYER: layer!, BENCH_SHIP_TRANSPORT: transport, ELASTICSEARCH_URL: bulk.url },
      nodeArgs: process.env.BENCH_TRACE_GC === '1' ? ['--trace-gc'] : [],
    });
    variants.push({ name: spec, server });
    servers.push(server);
  }
  for (const { server } of variants)
    await runWrk({ url: `${server.url}/livez`, connections: CONNECTIONS, durationSeconds: settings.warmupSeconds });
  const system = new Map<string, number[]>();
  const results = await alternate<number>(
    variants.map(({ name, server }) => ({
      name,
      measure: async (round) => {
        const [cpuBefore, systemBefore] = [server.cpuSeconds(), systemSeconds(server.pid)];
        const result = await runWrk({ url: `${server.url}/livez`, connections: CONNECTIONS, durationSeconds: settings.seconds });
        const micros = ((server.cpuSeconds() - cpuBefore) * 1e6) / result.requests;
        system.set(name, [...(system.get(name) ?? []), ((systemSeconds(server.pid) - systemBefore) * 1e6) / result.requests]);
        console.log(`round ${round + 1} ${name}: ${micros.toFixed(1)} µs CPU/request (${Math.round(result.rps)} req/s)`);
        return micros;
      },
    })),
    settings.rounds,
  );
  const first = results.get(variants[0]!.name)!;
  console.log(`\nCPU µs per GET /livez, median (min to max) of ${settings.rounds} rounds × ${settings.seconds} s:`);
  console.log('variant | CPU µs/request | of which system | minus the first, paired by round');
  for (const { name, server } of variants) {
    const micros = results.get(name)!;
    const gc = process.env.BENCH_TRACE_GC === '1' ? ` | GC: ${gcSummary(server.logTail(1_000_000))}` : '';
    console.log(
      `${name} | ${format(micros)} | ${format(system.get(name)!)} | ${format(micros.map((value, round) => value - first[round]!))}${gc}`,
    );
  }
} finally {
  for (const server of servers.reverse()) await server.stop();
}

function gcSummary(log: string): string {
  const lines = log.split('\n');
  const pause = (line: string) => Number(/, ([\d.]+) \/ [\d.]+ ms/.exec(line)?.[1] ?? 0);
  const scavenges = lines.filter((line) => line.includes(': Scavenge'));
  const markCompacts = lines.filter((line) => line.includes(': Mark-Compact'));
  const total = (group: string[]) => group.reduce((sum, line) => sum + pause(line), 0).toFixed(0);
  return `${scavenges.length} scavenges (${total(scavenges)} ms), ${markCompacts.length} mark-compacts (${total(markCompacts)} ms)`;
}
