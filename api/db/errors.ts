// Classifying database errors. Drizzle wraps driver errors (DrizzleQueryError), so the driver's code
// may sit on a `cause`; this walks the chain.

function chain(error: unknown): Array<{ code?: unknown; message?: unknown }> {
  const found: Array<{ code?: unknown; message?: unknown }> = [];
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    found.push(current as { code?: unknown; message?: unknown });
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

function codes(error: unknown): string[] {
  return chain(error)
    .map((link) => link.code)
    .filter((code): code is string => typeof code === 'string');
}

/**
 * On Workers, postgres.js talks through `cloudflare:sockets`, whose errors carry no code, only a message
 * ("proxy request failed, cannot connect to the specified address", "Network connection lost", …).
 */
const socketFailureMessage =
  /cannot connect|connection (?:refused|reset|lost|closed|terminated)|network connection lost|socket (?:closed|hang up)/i;

/** The SQLSTATE of a PostgreSQL error (five characters, e.g. 23505), if there is one. */
export function sqlState(error: unknown): string | undefined {
  return codes(error).find((code) => /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E'));
}

const unreachableCodes = new Set([
  // socket level (Node)
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  // postgres.js
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/**
 * True when the database could not be reached or refused the session (connection exception class 08,
 * shutting down 57P0x, too many connections 53300): the request was fine, the dependency is not — 503.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return (
    codes(error).some(
      (code) => unreachableCodes.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === '53300',
    ) ||
    (sqlState(error) === undefined &&
      chain(error).some((link) => typeof link.message === 'string' && socketFailureMessage.test(link.message)))
  );
}
