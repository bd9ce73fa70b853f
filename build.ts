// `npm run build`: compiles the Node entries to JavaScript in dist/ (dist/api/node.js, …), which is what
// production runs (`npm start`, `npm run gateway`, the Docker image): no TypeScript loader in those
// processes. Our own modules are bundled into each entry; packages stay imports, resolved from node_modules.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';

const root = import.meta.dirname;

export const nodeEntries = ['api/node.ts', 'pushgateway/node.ts', 'api/db/migrate-cli.ts', 'monitoring/elasticsearch/setup.ts'];

/**
 * V8 flags the gateway runs with wherever it is started (`npm run gateway`, docker-compose.prod.yml, the
 * benchmarks). Command-line flags, not `v8.setFlagsFromString`: V8 sizes its heap before any script runs.
 * - `--max-semi-space-size=1`: a young generation of at most 2 × 1 MiB. V8's default lets it grow to 2 × 32 MiB
 *   under a burst of pushes, and those pages stay resident; short-lived push garbage is collected as cheaply in
 *   the small one.
 * - `--heap-growing-percent=50`: after each full GC the old generation may grow by half of what is live before
 *   the next, instead of V8's dynamic factor (up to 4×). With the small young generation a push's transient
 *   objects are promoted, and the default let them pile up to several times the stored series before a full GC;
 *   the pages they took stay resident. RSS per stored series ~800 → ~450 bytes (bench/README.md, "Where RSS
 *   went"); the price is more full GCs while a large heap is rebuilt: a remote-write snapshot ~1.45× the CPU
 *   (25 % saved no more memory and cost 1.6–2×).
 * Not `--optimize-for-size`: it gets ~350 bytes per series but makes a remote-write snapshot ~10× dearer.
 */
export const gatewayNodeFlags = ['--max-semi-space-size=1', '--heap-growing-percent=50'];

/** Where an entry's JavaScript goes: `api/db/migrate-cli.ts` → `dist/api/db/migrate-cli.js`. */
export function outputOf(entry: string): string {
  return join(root, 'dist', entry.replace(/\.ts$/, '.js'));
}

/**
 * Modules find files beside their source (drizzle/migrations, the Elasticsearch templates) through
 * `import.meta.url`, and the entries run their CLI only when `import.meta.main`. Once bundled, both would
 * describe the bundle instead. This keeps each module's own meaning: `import.meta.url` is the source file's
 * URL, computed from the bundle's location (so dist/ works wherever the tree is, e.g. /app in the image),
 * and `import.meta.main` is false in every module but the entry.
 */
function keepModuleMeta(entry: string, outfile: string): Plugin {
  return {
    name: 'keep-module-meta',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.ts$/ }, ({ path }) => {
        const source = readFileSync(path, 'utf8');
        if (!source.includes('import.meta')) return undefined;
        const unsupported = /import\.meta\.(?!url\b|main\b)\w+/.exec(source);
        if (unsupported) throw new Error(`${relative(root, path)}: ${unsupported[0]} has no bundled equivalent; use import.meta.url`);
        const fromBundle = relative(dirname(outfile), path).split(sep).join('/');
        const isEntry = path === join(root, entry);
        const contents = source.replaceAll(/import\.meta\.(url|main)\b/g, (_match, property: string) =>
          property === 'url' ? `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href` : isEntry ? 'import.meta.main' : 'false',
        );
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Bundles one entry into `outfile` (benchmarks bundle their own servers the same way, elsewhere). A module the
 * code reaches only through `import()` goes into a chunk beside it, with the packages it imports, so a process
 * loads them only when it uses them (the gateway's OTLP decoder, remote write, Redis clients): each package a
 * process loads stays in its RSS. Chunks sit in the entry's folder, so `import.meta.url` below holds for them.
 */
export async function buildEntry(entry: string, outfile = outputOf(entry)): Promise<void> {
  const extension = extname(outfile);
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [basename(outfile, extension)]: entry },
    outdir: dirname(outfile),
    outExtension: { '.js': extension },
    splitting: true,
    chunkNames: `${basename(outfile, extension)}-[name]-[hash]`,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Two modules may declare the same name (ConfigError); the bundle renames one, but logs report class names.
    keepNames: true,
    write: false,
    logLevel: 'warning',
    plugins: [keepModuleMeta(entry, outfile)],
  });
  for (const file of result.outputFiles) {
    // Written aside and renamed: a process starting from dist/ meanwhile (a second `npm start`) reads the old
    // file or the new one, never half of one.
    mkdirSync(dirname(file.path), { recursive: true });
    const partial = `${file.path}.${process.pid}.tmp`;
    writeFileSync(partial, file.contents);
    renameSync(partial, file.path);
  }
}

if (import.meta.main) await Promise.all(nodeEntries.map((entry) => buildEntry(entry)));
