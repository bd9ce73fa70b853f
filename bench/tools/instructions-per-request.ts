// Instructions per GET /livez for bare Hono and each of our API's layers (bench/servers/api-layer.ts),
// counted by valgrind (callgrind) over a fixed number of requests after a warm-up. Unlike CPU time, the count
// does not depend on what else the machine is running, so small per-layer costs can be told apart on a shared
// machine. Slow (valgrind runs the server ~50× slower); the figures are relative, not µs.
// Usage: npx tsx bench/tools/instructions-per-request.ts [requests] [variant…]   (variants: bare app metrics
// access-log shipping pusher; default all)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, repoRoot, startNodeServer, startProcess } from '../lib/processes.js';

const [countArg, ...chosen] = process.argv.slice(2);
const requests = Number(countArg ?? 4000);
const layers = ['app', 'metrics', 'access-log', 'shipping', 'pusher'];
const variants = chosen.length > 0 ? chosen : ['bare', ...layers];
const warmup = 3000;
const concurrency = 16;

/** `count` keep-alive GETs from a child process (so the driver's own event loop is not the bottleneck). */
function load(url: string, count: number): Promise<void> {
  const client = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: ${concurrency} });
    let sent = 0, done = 0;
    const one = () => {
      if (sent === ${count}) return;
      sent++;
      http.get(${JSON.stringify(url)}, { agent }, (res) => {
        if (res.statusCode !== 200) { console.error('status ' + res.statusCode); process.exit(1); }
        res.resume();
        res.on('end', () => (++done === ${count} ? agent.destroy() : one()));
      }).on('error', (error) => { console.error(error.message); process.exit(1); });
    };
    for (let i = 0; i < ${concurrency}; i++) one();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', client], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load client exited with ${code}`))));
  });
}

const bulk = await startNodeServer('elasticsearch-bulk', 'bench/servers/elasticsearch-bulk.ts', {
  readyPath: '/',
  cpu: 'all',
  announcesUrl: true,
});
const gateway = await startNodeServer('gateway', 'pushgateway/node.ts', {
  env: { GATEWAY_HOST: '127.0.0.1' },
  portEnv: ['GATEWAY_PORT'],
  readyPath: '/-/ready',
  cpu: 'all',
});
try {
  const results: Array<[string, number]> = [];
  for (const variant of variants) {
    const entry = variant === 'bare' ? 'bench/servers/bare.ts' : 'bench/servers/api-layer.ts';
    const bundled = await bundle(entry);
    const outFile = join(repoRoot, 'node_modules', '.cache', 'bench', `callgrind-${variant}.out`);
    const server = await startProcess({
      name: `callgrind-${variant}`,
      command: 'valgrind',
      args: () => ['--tool=callgrind', `--callgrind-out-file=${outFile}`, process.execPath, bundled],
      env: { BENCH_LAYER: variant, ELASTICSEARCH_URL: bulk.url, PUSHGATEWAY_URL: gateway.url },
      portEnv: ['PORT'],
      readyPath: '/livez',
      cpu: 'all',
      timeoutMs: 600_000,
    });
    try {
      await load(`${server.url}/livez`, warmup);
      // callgrind_control talks to the valgrind process: zero the counters, load, dump what was counted.
      execFileSync('callgrind_control', ['--zero', String(server.pid)], { stdio: 'ignore' });
      await load(`${server.url}/livez`, requests);
      execFileSync('callgrind_control', ['--dump', String(server.pid)], { stdio: 'ignore' });
      const dump = readFileSync(`${outFile}.1`, 'utf8');
      const total = Number(/^(?:summary|totals): (\d+)/m.exec(dump)?.[1]);
      results.push([variant, total / requests]);
      console.log(`${variant}: ${(total / requests).toFixed(0)} instructions/request`);
    } finally {
      await server.stop();
    }
  }
  const bare = results.find(([name]) => name === 'bare')?.[1];
  console.log('\nvariant      instructions/request  ÷ bare');
  for (const [name, perRequest] of results)
    console.log(`${name.padEnd(12)} ${perRequest.toFixed(0).padStart(20)}  ${bare ? (bare / perRequest).toFixed(2) : ''}`);
} finally {
  await gateway.stop();
  await bulk.stop();
}
