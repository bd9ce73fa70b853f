// Summarises a V8 .cpuprofile (from `node --cpu-prof`, or BENCH_CPU_PROF=<dir> npm run bench): the functions
// with the most self time, and the files they live in, as shares of the busy samples ((idle) left out: a server
// measured in alternation is idle while the others are loaded). Usage: npx tsx bench/tools/top-functions.ts <file> [count]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, countArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/tools/top-functions.ts <file.cpuprofile> [count]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
const busySamples = profile.samples.filter((sample) => !idleIds.has(sample));
const total = busySamples.length;
const self = new Map<string, number>();
const byFile = new Map<string, number>();
const hits = new Map<number, number>();
for (const sample of busySamples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  const where = node.callFrame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'npm:');
  const key = `${node.callFrame.functionName || '(anonymous)'}  ${where}:${node.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + count);
  const fileKey = where || node.callFrame.functionName;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + count);
}
const top = (map: Map<string, number>, count: number) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, value]) => `${((value / total) * 100).toFixed(1).padStart(5)} %  ${key}`)
    .join('\n');
const count = Number(countArg ?? 25);
console.log(
  `${total} busy samples of ${profile.samples.length}\n\nself time by function:\n${top(self, count)}\n\nself time by file:\n${top(byFile, 15)}`,
);
