// A Worker of ours (BENCH_WORKER_CONFIG = its wrangler.toml) in real workerd through Miniflare, bundled as
// `wrangler deploy --dry-run` bundles it (the test harness' startWorker), in a process of its own.
// Bindings can be overridden with BENCH_WORKER_BINDINGS (JSON object of vars); BENCH_WORKER_INSPECTOR_PORT opens
// workerd's DevTools inspector on that loopback port.
import { startWorker } from '../../test/support/services/workerd.js';

const config = process.env.BENCH_WORKER_CONFIG;
if (!config) throw new Error('BENCH_WORKER_CONFIG must name a wrangler.toml');
const bindings = JSON.parse(process.env.BENCH_WORKER_BINDINGS ?? '{}') as Record<string, string>;
const inspectorPort = process.env.BENCH_WORKER_INSPECTOR_PORT;
const worker = await startWorker({
  config,
  bindings,
  ...(inspectorPort ? { miniflareOptions: { inspectorPort: Number(inspectorPort) } } : {}),
});
console.log(`BENCH_LISTENING ${worker.url.replace(/\/$/, '')}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void worker.stop().then(() => process.exit(0)));
