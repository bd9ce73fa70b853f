// The gateway's V8 flags (gatewayNodeFlags in build.ts) are given wherever it is started, and they bound the
// young generation as their comment says, however much is allocated.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayNodeFlags } from '../build.js';

const root = resolve(import.meta.dirname, '..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

describe('the gateway node flags', () => {
  it('are on every command that starts the gateway', () => {
    const npmScript = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.gateway!;
    const composeCommand = /^ {2}gateway:\n(?:.*\n)*? {4}command: (\[.*\])$/m.exec(read('docker-compose.prod.yml'))?.[1];
    expect(npmScript).toContain(`exec node ${gatewayNodeFlags.join(' ')} dist/pushgateway/node.js`);
    expect(JSON.parse((composeCommand ?? '').replaceAll("'", '"'))).toEqual(['node', ...gatewayNodeFlags, 'dist/pushgateway/node.js']);
  });

  it('keep the young generation at 2 MiB through a burst of allocation', () => {
    const script = `
      const kept = [];
      for (let i = 0; i < 2e6; i++) { kept.push({ i, text: 'x' + i }); if (kept.length > 1000) kept.length = 0; }
      const space = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      console.log(space.space_size);`;
    const newSpace = Number(execFileSync(process.execPath, [...gatewayNodeFlags, '-e', script], { encoding: 'utf8' }));
    expect(newSpace).toBeGreaterThan(0);
    expect(newSpace).toBeLessThanOrEqual(2 * 2 ** 20);
    const unbounded = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(unbounded).toBeGreaterThan(2 * 2 ** 20);
  });
});
