// By hand (`npx tsx bench/scripts/access-line.ts`): CPU per access line in a tight loop, the direct ECS
// writer (api/node.ts's `accessLine`) against the same line through pino + @elastic/ecs-pino-format
// (`pinoAccessWriter`), both into a sink that drops the line; alternating rounds in one process.
import type { AccessRecord } from '../../api/logging/access-line.js';
import { pinoAccessWriter } from '../../api/logging/access-line.js';
import { createNodeLogging } from '../../api/logging/node.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const lines = Number(process.env.BENCH_LINES ?? 200_000);
const sink = { write: (_line: string) => true };
const logging = createNodeLogging({ level: 'info', serviceName: 'api', serviceVersion: '1.0.0', environment: 'bench' }, { stdout: sink });
const writers = { direct: logging.accessLine, 'pino + ecs-pino-format': pinoAccessWriter(logging.logger) };

const record: AccessRecord = {
  start: 0,
  end: 0.0421,
  method: 'GET',
  path: '/api/users/0190a0a0-0000-7000-8000-000000000001',
  route: '/api/users/:id',
  status: 200,
  requestId: '3f0e5c1a-9b1d-4d8e-a8f6-2b4c6d8e0f12',
  traceId: '3f0e5c1a-9b1d-4d8e-a8f6-2b4c6d8e0f12',
  userId: '0190a0a0-0000-7000-8000-000000000001',
  userAgent: 'wrk/4.2.0',
  error: undefined,
};

const results = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, write] of round % 2 === 0 ? Object.entries(writers) : Object.entries(writers).reverse()) {
    const before = process.cpuUsage();
    for (let n = 0; n < lines; n++) write(record);
    const used = process.cpuUsage(before);
    const micros = (used.user + used.system) / lines;
    results.set(name, [...(results.get(name) ?? []), micros]);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [name, values] of results)
  console.log(`${name}: ${median(values).toFixed(2)} µs CPU/line (median of ${rounds} rounds × ${lines} lines)`);
const direct = results.get('direct')!;
const viaPino = results.get('pino + ecs-pino-format')!;
console.log(`direct ÷ pino: ${median(direct.map((value, round) => value / viaPino[round]!)).toFixed(2)}×`);
