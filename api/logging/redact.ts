// Key-name based redaction shared by the Node logger (inside pino's `formatters`) and the Workers logger.
// pino's own `redact` takes fixed paths (`a.b`, `*.c`), so it cannot catch "any field named like a secret" at
// any depth; this walk can, and being plain code it runs unchanged on workerd.

export const REDACTED = '[Redacted]';

// Lower-cased key with `-`, `_` and `.` removed is tested against these fragments, so `Set-Cookie`,
// `api_key`, `x-api-key`, `ELASTICSEARCH_PASSWORD`, `refreshToken`, `client.secret` all match.
const secretFragments = [
  'authorization',
  'cookie',
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'credential',
  'sessionid',
  'signature',
];

const verdicts = new Map<string, boolean>();

export function isSecretKey(key: string): boolean {
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  const normalized = key.toLowerCase().replace(/[-_.]/g, '');
  const secret = normalized === 'auth' || normalized === 'pwd' || secretFragments.some((fragment) => normalized.includes(fragment));
  // Keys come from code, not from users, so the cache stays small; the cap guards against dynamic keys.
  if (verdicts.size < 10_000) verdicts.set(key, secret);
  return secret;
}

// Deep enough for any log object; the bound only stops cycles (pino serializes those as "[Circular]").
const maxDepth = 32;

/**
 * Returns `value` with every property whose name looks like a secret replaced by `[Redacted]`, at any depth.
 * Copy-on-write: objects without secrets are returned as they are (the common case costs one walk and no
 * allocation). Errors, dates and other class instances are left to the serializers.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > maxDepth) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) {
        copy ??= value.slice();
        copy[index] = redacted;
      }
    }
    return (copy ?? value) as T;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    const redacted = isSecretKey(key) ? (item === undefined ? item : REDACTED) : redactSecrets(item, depth + 1);
    if (redacted !== item) {
      copy ??= { ...record };
      copy[key] = redacted;
    }
  }
  return (copy ?? value) as T;
}
