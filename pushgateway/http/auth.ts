// Gateway authentication: a bearer token on writes (PUT/POST/DELETE, including the admin wipe) and
// optional HTTP basic auth on reads. Hand-written rather than hono/bearer-auth + hono/basic-auth so both
// checks share one constant-time comparison that runs on Node and workerd alike (SHA-256 both sides with
// WebCrypto, then compare the fixed-length digests without an early exit), and so the 401 is the
// gateway's JSON error shape.
import type { MiddlewareHandler } from 'hono';

export interface GatewayAuthOptions {
  /** Bearer token required on PUT/POST/DELETE; undefined = writes are open. */
  pushToken?: string;
  /** Basic-auth credentials required on GET/HEAD; undefined = reads are open. */
  scrape?: { user: string; password: string };
  /** Paths always open to reads (health probes). */
  openReadPaths?: readonly string[];
}

const encoder = new TextEncoder();
const WRITE_METHODS = new Set(['PUT', 'POST', 'DELETE', 'PATCH']);
const DEFAULT_OPEN_READ_PATHS = ['/-/healthy', '/-/ready'];

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value)));
}

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export async function constantTimeEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

// Fatal, so invalid UTF-8 is refused rather than read as U+FFFD; ignoreBOM, so a leading U+FEFF is part of the user name.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBasic(encoded: string): { user: string; password: string } | undefined {
  try {
    const binary = atob(encoded);
    const text = utf8.decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
    const colon = text.indexOf(':');
    if (colon < 0) return undefined;
    return { user: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return undefined;
  }
}

function unauthorized(challenge: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code: 'unauthorized', message } }), {
    status: 401,
    headers: { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': challenge },
  });
}

/** Splits `Authorization: <scheme> <credentials>`; the scheme is case-insensitive (RFC 9110). */
function credentials(header: string | undefined, scheme: string): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme) return undefined;
  return header.slice(space + 1).trim();
}

export function gatewayAuth({ pushToken, scrape, openReadPaths = DEFAULT_OPEN_READ_PATHS }: GatewayAuthOptions): MiddlewareHandler {
  const openReads = new Set(openReadPaths);
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    if (WRITE_METHODS.has(c.req.method)) {
      if (pushToken !== undefined) {
        const token = credentials(authorization, 'bearer');
        if (token === undefined) return unauthorized('Bearer realm="pushgateway"', 'a bearer token is required to push or delete');
        if (!(await constantTimeEqual(token, pushToken))) {
          return unauthorized('Bearer realm="pushgateway", error="invalid_token"', 'the bearer token is not valid');
        }
      }
    } else if (scrape && !openReads.has(c.req.path)) {
      const encoded = credentials(authorization, 'basic');
      const given = encoded === undefined ? undefined : decodeBasic(encoded);
      // Both halves are always compared, so a wrong user costs the same as a wrong password.
      const userOk = await constantTimeEqual(given?.user ?? '', scrape.user);
      const passwordOk = await constantTimeEqual(given?.password ?? '', scrape.password);
      if (!given || !userOk || !passwordOk) {
        return unauthorized('Basic realm="pushgateway", charset="UTF-8"', 'valid basic-auth credentials are required to read');
      }
    }
    await next();
  };
}
