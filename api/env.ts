// Reading environment variables the same way for Node's `process.env` and a Worker's `env` bindings,
// collecting every problem so start-up can name all offending variables at once.

export type Env = Record<string, unknown>;

/** Reads a string variable; empty strings count as unset (a blank line in a .env file must not mean ""). */
export function readEnv(env: Env, name: string): string | undefined {
  const value = env[name];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * Reads a non-negative integer variable within [min, max] (no upper bound when `max` is omitted); a bad value
 * is recorded in `problems` and the fallback used, so parsing goes on to find the other problems.
 */
export function readIntegerEnv(env: Env, problems: string[], name: string, fallback: number, min: number, max?: number): number {
  const raw = readEnv(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    problems.push(`${name} must be an integer ${max === undefined ? `≥ ${min}` : `from ${min} to ${max}`}, got "${raw}"`);
    return fallback;
  }
  return value;
}
