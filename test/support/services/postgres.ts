// A real PostgreSQL server (Debian `postgresql`) on a loopback port in a temp dir.
// PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to `postgres`.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import postgres from 'postgres';
import { freePort, makeTempDir, requireBinary, serviceWhenReady, spawnLogged, type RunningService } from './process.js';

function postgresBinDir(): string {
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  } catch {
    // handled by requireBinary below
  }
  const candidates = versions.map((version) => `/usr/lib/postgresql/${version}/bin/postgres`);
  const binary = requireBinary(candidates.length ? candidates : ['/usr/lib/postgresql/15/bin/postgres'], 'postgresql');
  return binary.replace(/\/postgres$/, '');
}

function runAsIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export interface RunningPostgres extends RunningService {
  /** Creates a fresh empty database and returns its connection string. */
  createDatabase(name?: string): Promise<string>;
}

export async function startPostgres(): Promise<RunningPostgres> {
  const bin = postgresBinDir();
  const ids = runAsIds();
  const dir = makeTempDir('pg', ids);
  const dataDir = `${dir}/data`;
  execFileSync(`${bin}/initdb`, ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], {
    stdio: 'pipe',
    ...(ids ?? {}),
  });
  const port = await freePort();
  const proc = spawnLogged(
    'postgres',
    `${bin}/postgres`,
    ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    dir,
    { ...(ids ?? {}) },
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, stop cleanly.
  const service = await serviceWhenReady(
    proc,
    { url, port, dir, what: 'PostgreSQL', timeoutMs: 60_000, defaultStopSignal: 'SIGINT' },
    async () => {
      const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql`select 1`;
        return true;
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  );
  let counter = 0;
  return {
    ...service,
    async createDatabase(name = `test_${process.pid}_${++counter}`) {
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`create database "${name}"`);
      } finally {
        await admin.end({ timeout: 1 });
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
  };
}
