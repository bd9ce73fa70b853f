import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createShutdownHooks } from './shutdown.js';

describe('shutdown hooks', () => {
  it('run last-registered first, survive a failing or hanging hook, and run only once', async () => {
    const order: string[] = [];
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
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

    const first = hooks.run({ logger, timeoutMs: 50 });
    const second = hooks.run({ logger, timeoutMs: 50 });
    await Promise.all([first, second]);
    expect(order).toEqual(['final push', 'throws', 'hangs', 'database', 'logger flush']);
    expect(lines.join('')).toContain('shutdown hook \\"throws\\" failed');
    expect(lines.join('')).toContain('shutdown hook \\"hangs\\" did not finish in time');
  });
});
