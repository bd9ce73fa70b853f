// Health in the shape of the IETF draft "Health Check Response Format for HTTP APIs"
// (application/health+json): overall `status` pass|fail and `checks` keyed "component:measurement",
// each with status, observed latency and time. Checks run concurrently, each under its own timeout,
// so one hung dependency cannot stall the others or the probe.
import type { Context } from 'hono';
import type { Logger } from 'pino';

export interface HealthCheck {
  /** Component name, e.g. `postgres`; reported as `<name>:responseTime`. */
  name: string;
  componentType: 'datastore' | 'component' | 'system';
  run(c: Context): Promise<unknown>;
}

export interface CheckResult {
  componentType: string;
  observedValue: number;
  observedUnit: 'ms';
  status: 'pass' | 'fail';
  time: string;
  /** Why it failed; kept generic (the details go to the log, not to whoever probes). */
  output?: string;
}

export interface HealthReport {
  status: 'pass' | 'fail';
  serviceId: string;
  checks: Record<string, CheckResult[]>;
}

class CheckTimeout extends Error {}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout()), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runHealthChecks(
  c: Context,
  { checks, timeoutMs, serviceId, logger }: { checks: HealthCheck[]; timeoutMs: number; serviceId: string; logger: Logger },
): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (check): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let output: string | undefined;
      try {
        await withTimeout(check.run(c), timeoutMs);
      } catch (error) {
        output = error instanceof CheckTimeout ? `no answer within ${timeoutMs} ms` : 'check failed';
        logger.warn(
          { err: error instanceof CheckTimeout ? undefined : error, check: check.name },
          `health check ${check.name} failed: ${output}`,
        );
      }
      const result: CheckResult = {
        componentType: check.componentType,
        observedValue: Math.round((performance.now() - started) * 1000) / 1000,
        observedUnit: 'ms',
        status: output === undefined ? 'pass' : 'fail',
        time: new Date().toISOString(),
      };
      if (output !== undefined) result.output = output;
      return [`${check.name}:responseTime`, result];
    }),
  );
  return {
    status: results.every(([, result]) => result.status === 'pass') ? 'pass' : 'fail',
    serviceId,
    checks: Object.fromEntries(results.map(([name, result]) => [name, [result]])),
  };
}
