import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createShutdownHooks } from './shutdown.js';

describe('shutdown hooks', () => {
  it('run last-registered first, survive a failing or hanging hook, and run only once', async () => {
    const order: string[] = [];
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const hooks = createShutdownHooks();
    hooks.add('logger flush', () => void order.push('logger flush'));
    hooks.add('database', async () => {
      order.push('database');
    });
    hooks.add('hangs', () => new Promise(() => order.push('hangs')));
    hooks.add('throws', () => {
      order.push('throws');
      throw new Error('boom');
    });
    hooks.add('final push', async () => void order.push('final push'));

    const first = hooks.run({ logger, timeoutMs: 200 });
    const second = hooks.run({ logger, timeoutMs: 200 });
    await Promise.all([first, second]);
    expect(order).toEqual(['final push', 'throws', 'hangs', 'database', 'logger flush']);
    expect(lines.join('')).toContain('shutdown hook \\"throws\\" failed');
    expect(lines.join('')).toContain('shutdown hook \\"hangs\\" did not finish in time');
    // each hook is announced before it runs
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => msg.startsWith('shutdown: '))).toEqual([
      expect.stringMatching(/^shutdown: final push \(up to \d+ ms\)$/),
      expect.stringMatching(/^shutdown: throws /),
      expect.stringMatching(/^shutdown: hangs /),
      expect.stringMatching(/^shutdown: database /),
      expect.stringMatching(/^shutdown: logger flush /),
    ]);
  });

  it('share one budget: hooks that all hang end within it, and the last still gets its minimum share', async () => {
    const logger = pino({ level: 'silent' });
    const hooks = createShutdownHooks();
    let lastRan = false;
    hooks.add('log flush', () => {
      lastRan = true;
    });
    for (const name of ['database', 'gateway', 'final push']) hooks.add(name, () => new Promise(() => {}));
    const started = Date.now();
    await hooks.run({ logger, timeoutMs: 400 });
    // Each with its own 400 ms this took 1 200 ms; sharing one budget it ends at about 400.
    expect(Date.now() - started).toBeLessThan(800);
    expect(lastRan).toBe(true);
  });
});
