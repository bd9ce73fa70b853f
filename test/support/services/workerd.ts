// Run a Worker in real workerd for tests: bundle it exactly as a deploy would
// (`wrangler deploy --dry-run --outdir`, offline), then start the bundle with Miniflare using the
// bindings wrangler itself derives from the same wrangler.toml (vars, Durable Objects, Hyperdrive…),
// plus per-test overrides. Listens on 127.0.0.1 only; `stop()` disposes workerd.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Log, LogLevel, Miniflare, type MiniflareOptions, type WorkerOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { makeTempDir, removeDir } from './process.js';

const execFileAsync = promisify(execFile);
const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const wranglerBin = join(repoRoot, 'node_modules', '.bin', 'wrangler');

/** Environment for wrangler so a bundle needs no network and no account. */
const offlineWranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_API_TOKEN: '',
  CLOUDFLARE_ACCOUNT_ID: '',
  WRANGLER_LOG: 'warn',
};

/**
 * Bundles the Worker of `configPath` into `outdir` with `wrangler deploy --dry-run` and returns the
 * path of the entry module.
 */
export async function bundleWorker(configPath: string, outdir: string): Promise<string> {
  const config = resolve(configPath);
  try {
    await execFileAsync(wranglerBin, ['deploy', '--dry-run', '--outdir', outdir, '--config', config], {
      cwd: dirname(config),
      env: offlineWranglerEnv,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`wrangler deploy --dry-run failed for ${config}:\n${stdout}\n${stderr}`);
  }
  const { main } = unstable_getMiniflareWorkerOptions(config);
  const expected = main ? join(outdir, `${basename(main).replace(/\.[cm]?[jt]sx?$/, '')}.js`) : undefined;
  if (expected && existsSync(expected)) return expected;
  const scripts = readdirSync(outdir).filter((file) => file.endsWith('.js'));
  if (scripts.length !== 1) throw new Error(`cannot tell the entry module in ${outdir}: ${scripts.join(', ') || 'no .js file'}`);
  return join(outdir, scripts[0]!);
}

export interface StartWorkerOptions {
  /** Path of the wrangler.toml that describes the Worker. */
  config: string;
  /** Extra or overriding bindings (vars/secrets), e.g. `{ DATABASE_URL: '...' }`. */
  bindings?: Record<string, unknown>;
  /** Hyperdrive bindings → the real Postgres connection string workerd proxies to. */
  hyperdrives?: Record<string, string>;
  /** Any other Miniflare options, applied last (e.g. `durableObjectsPersist: dir`, `serviceBindings`). */
  miniflareOptions?: Partial<MiniflareOptions>;
  /** An already bundled entry module (from `bundleWorker`), to skip bundling when several tests share one. */
  scriptPath?: string;
}

export interface RunningWorker {
  /** http://127.0.0.1:PORT/ — plain `fetch` works against it. */
  url: string;
  /** Sends a request straight into workerd (no socket); same semantics as `fetch`. */
  dispatchFetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** The Miniflare instance, for bindings access (`getDurableObjectNamespace`, …). */
  miniflare: Miniflare;
  /** Everything the Worker wrote to stdout/stderr (console.log, console.error) so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Bundles (unless `scriptPath` is given) and starts a Worker in workerd on a loopback port. */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const config = resolve(options.config);
  const dir = makeTempDir('workerd');
  const scriptPath = options.scriptPath ?? (await bundleWorker(config, join(dir, 'bundle')));
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const chunks: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) => stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));

  const { bindings: configBindings, ...fromConfig } = workerOptions as WorkerOptions & { bindings?: Record<string, unknown> };
  const miniflareOptions = {
    ...fromConfig,
    name: fromConfig.name ?? 'worker',
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    bindings: { ...(configBindings ?? {}), ...(options.bindings ?? {}) },
    ...(options.hyperdrives ? { hyperdrives: options.hyperdrives } : {}),
    durableObjectsPersist: false,
    // A fixed placeholder `request.cf`: Miniflare would otherwise download one (no network in tests).
    cf: false,
    log: new Log(LogLevel.WARN),
    ...(options.miniflareOptions ?? {}),
    host: '127.0.0.1',
    port: 0,
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      collect(stdout);
      collect(stderr);
    },
  } as MiniflareOptions;

  const miniflare = new Miniflare(miniflareOptions);
  let url: URL;
  try {
    url = await miniflare.ready;
  } catch (error) {
    await miniflare.dispose().catch(() => {});
    removeDir(dir);
    throw new Error(`workerd did not start for ${config}: ${String(error)}\n${chunks.join('')}`);
  }
  return {
    url: url.href,
    dispatchFetch: (input, init) => miniflare.dispatchFetch(input as string, init as never) as unknown as Promise<Response>,
    miniflare,
    output: () => chunks.join(''),
    async stop() {
      await miniflare.dispose();
      removeDir(dir);
    },
  };
}
