// The one way configuration is read, for the API and the gateway, on Node (`process.env`) and on Workers
// (`env` bindings). Every problem is collected rather than thrown at the first one, so start-up names every
// offending variable at once, in one format. Values are never echoed for variables that may hold secrets.

/** Process environment or Worker bindings; non-string bindings (Durable Objects, Hyperdrive) are ignored. */
export type Env = Record<string, unknown>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** A string variable, trimmed; blank counts as unset (a blank line in a .env file must not mean ""). */
  string(name: string): string | undefined {
    const value = this.env[name];
    if (typeof value !== 'string') return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  /** A non-negative whole number within [min, max]; a bad value is recorded and the fallback returned. */
  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      this.problems.push(`${name} must be an integer ${range}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  }

  /** One of a fixed set of words (compared in lower case). */
  oneOf<const T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
    return fallback;
  }

  /** A URL with one of the given protocols. The value is never echoed: URLs often carry credentials. */
  url(name: string, protocols: readonly string[]): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      this.problems.push(`${name} must be a URL (${protocols.join(' or ')}), got a value that is not one`);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
      return undefined;
    }
    return raw;
  }

  /** Records a problem found by a rule that spans variables (e.g. "set both or neither"). */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws one ConfigError listing every problem recorded so far, or returns the value. */
  finish<T>(value: T): T {
    if (this.problems.length > 0) throw new ConfigError([...this.problems]);
    return value;
  }
}
