// The compiled entries (`npm run build` → dist/) run on plain node as the image runs them: migrations found from
// the bundle, the gateway serving and stopping on SIGTERM, a CLI entry running its main. `npm start` (dist/api/node.js)
// is covered by api-start.test.ts.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir, spawnLogged, waitUntil } from '../support/services/index.js';

const execFileAsync = promisify(execFile);
const repoRoot = join(import.meta.dirname, '../..');
const dir = makeTempDir('production-build');
const dist = (entry: string) => join(repoRoot, 'dist', entry);
/** Only what production sets: no loader options inherited from the test runner. */
const plainEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

/** Starts dist/pushgateway/node.js on a free loopback port and waits until it is ready. */
async function startCompiledGateway(name: string, nodeArgs: string[] = []) {
  const port = await freePort();
  const gateway = spawnLogged(name, process.execPath, [...nodeArgs, dist('pushgateway/node.js')], dir, {
    cwd: dir,
    env: { ...plainEnv, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port) },
  });
  try {
    await waitUntil(
      async () => {
        if (gateway.child.exitCode !== null) throw new Error(`gateway exited:\n${gateway.logTail()}`);
        return (await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'compiled gateway' },
    );
  } catch (error) {
    await gateway.stop('SIGKILL');
    throw error;
  }
  return { gateway, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  await execFileAsync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, timeout: 120_000 });
}, 180_000);
afterAll(() => removeDir(dir));

describe('npm run build', () => {
  it('bundles our modules and leaves packages as imports, with no TypeScript loader', () => {
    const gateway = readFileSync(dist('pushgateway/node.js'), 'utf8');
    expect(gateway).toContain('function createGatewayApp(');
    expect(gateway).toMatch(/^import .* from "hono";$/m);
    // No import of the loader (a bundled `.tsx` module's name in a comment is fine).
    expect(gateway).not.toMatch(/from "tsx|"tsx\/|--import tsx/);
  });

  it('migrates a PGlite folder with dist/api/db/migrate-cli.js (the migrations found from the bundle)', async () => {
    const pgliteDir = join(dir, 'pglite');
    const { stdout } = await execFileAsync(process.execPath, [dist('api/db/migrate-cli.js')], {
      cwd: dir,
      env: { ...plainEnv, PGLITE_DIR: pgliteDir },
      timeout: 240_000,
    });
    expect(stdout).toContain(`migrations applied to PGlite in ${pgliteDir}`);
  }, 300_000);

  it('serves the gateway from dist/pushgateway/node.js and exits 0 on SIGTERM', async () => {
    const { gateway, url } = await startCompiledGateway('gateway');
    const exit = once(gateway.child, 'exit') as Promise<[number | null]>;
    try {
      const pushed = await fetch(`${url}/metrics/job/build`, { method: 'PUT', body: 'built_total 1\n' });
      expect(pushed.status).toBe(200);
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('built_total{instance="",job="build"} 1');
      gateway.child.kill('SIGTERM');
      expect((await exit)[0], gateway.logTail()).toBe(0);
    } finally {
      await gateway.stop('SIGKILL');
    }
  });

  it('starts the gateway without the packages a default start does not use, and loads them on first use', async () => {
    // A resolve hook logs every package the process imports (a module it never imports costs no memory).
    const hook = join(dir, 'log-imports.mjs');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
      registerHooks({ resolve(specifier, context, next) {
        if (!/^(node:|[./]|file:)/.test(specifier)) process.stderr.write('IMPORTED ' + specifier + '\\n');
        return next(specifier, context);
      } });`,
    );
    const { gateway, url } = await startCompiledGateway('gateway-imports', ['--import', hook]);
    const imported = () => new Set([...gateway.logTail(10_000).matchAll(/^IMPORTED (\S+)$/gm)].map((match) => match[1]));
    try {
      expect((await fetch(`${url}/metrics/job/build`, { method: 'PUT', body: 'built_total 1\n' })).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      expect(imported()).toContain('hono');
      for (const unused of ['@bufbuild/protobuf', '@bufbuild/protobuf/wire', 'redis', '@upstash/redis'])
        expect(imported()).not.toContain(unused);

      const otlp = await fetch(`${url}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"resourceMetrics":[]}',
      });
      expect(otlp.status, await otlp.text()).toBe(200);
      expect(imported()).toContain('@bufbuild/protobuf');
      expect(imported()).not.toContain('redis');
    } finally {
      await gateway.stop('SIGKILL');
    }
  });

  it('runs dist/monitoring/elasticsearch/setup.js, which reads the templates beside its source before connecting', async () => {
    // Nothing listens on the port: the policy and template files were read (no ENOENT) and the request refused.
    const elasticsearchUrl = `http://127.0.0.1:${await freePort()}`;
    const run = execFileAsync(process.execPath, [dist('monitoring/elasticsearch/setup.js')], {
      cwd: dir,
      env: { ...plainEnv, ELASTICSEARCH_URL: elasticsearchUrl },
      timeout: 60_000,
    });
    const failure = (await run.then(
      () => undefined,
      (error: unknown) => error,
    )) as { code?: number; stderr?: string } | undefined;
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('ECONNREFUSED');
    expect(failure?.stderr).not.toContain('ENOENT');
  });
});
