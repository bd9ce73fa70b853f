// PUT/POST/DELETE /metrics/job/<JOB>{/<LABEL>/<VALUE>}: parse the grouping and the body, hand the push
// to the store (which validates it whole), map the outcome to the official gateway's status codes.
// The same handlers serve /aggregate with mode 'aggregate', so grouping and body are read by the same rules in
// both modes.
import type { Context, Hono } from 'hono';
import { GroupingError, parseGroupingPath } from '../core/grouping.js';
import type { NameValidation } from '../core/names.js';
import { decodeDelimitedMetricFamiliesInSlices } from '../core/protobuf.js';
import { mediaTypeParameters } from '../core/scrape-negotiation.js';
import { ExpositionParseError, type ParsedExposition, parseTextBodyInSlices } from '../core/text-parser.js';
import type { GatewayStore, PushMode } from '../store/types.js';
import type { BodyVariables } from './body.js';
import { jsonError, retryAfterStoreFailure } from './errors.js';

export interface GatewayLog {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface PushRouteOptions {
  store: GatewayStore;
  log: GatewayLog;
  clock: () => number;
  /** GATEWAY_ROUTE_PREFIX ("" for none): the raw URL path starts with it. */
  routePrefix?: string;
  /** Called when the store fails (not when it refuses a push): feeds a counter and readiness. */
  onStoreError: (error: unknown) => void;
  /** Which names the URL and text bodies may use (GATEWAY_ENABLE_UTF8_NAMES); the stores' validation agrees. */
  names?: NameValidation;
}

/** True for the official protobuf media type; anything else is read as text, as the official gateway does. */
export function isDelimitedProtobuf(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [mediaType = '', ...params] = contentType.split(';').map((part) => part.trim());
  if (mediaType.toLowerCase() !== 'application/vnd.google.protobuf') return false;
  const values = mediaTypeParameters(params);
  return values.get('proto') === 'io.prometheus.client.MetricFamily' && values.get('encoding') === 'delimited';
}

/** The push body's families, parsed in slices (core/slices) so a large body does not hold the event loop. */
function parsePushBody(body: Uint8Array, contentType: string | undefined, names: NameValidation): Promise<ParsedExposition> {
  return isDelimitedProtobuf(contentType) ? decodeDelimitedMetricFamiliesInSlices(body) : parseTextBodyInSlices(body, names);
}

/** The raw (still percent-encoded) path after `<prefix>/metrics/`. */
function groupingPath(c: Context, prefix: string, routePrefix: string): string {
  const pathname = new URL(c.req.url).pathname;
  return pathname.slice(`${routePrefix}${prefix}/metrics/`.length);
}

type Env = { Variables: BodyVariables };

export function registerPushRoutes(
  app: Hono<Env>,
  prefix: string,
  mode: { put: PushMode; post: PushMode },
  options: PushRouteOptions,
): void {
  const { store, log, clock, onStoreError, routePrefix = '', names = 'legacy' } = options;
  const storeFailure = (error: unknown) => {
    onStoreError(error);
    log.error({ err: error instanceof Error ? error.message : String(error) }, 'gateway store failed');
    return jsonError(503, 'store_unavailable', 'the gateway store is unavailable; nothing was changed, retry later', {
      'retry-after': retryAfterStoreFailure,
    });
  };

  /** The grouping labels of the request's URL, or the 400 that refuses them. */
  const readGrouping = (c: Context<Env>) => {
    try {
      return parseGroupingPath(groupingPath(c, prefix, routePrefix), names);
    } catch (error) {
      if (error instanceof GroupingError) return jsonError(400, 'invalid_grouping', error.message);
      throw error;
    }
  };

  const push = (pushMode: PushMode) => async (c: Context<Env>) => {
    const grouping = readGrouping(c);
    if (grouping instanceof Response) return grouping;
    // pushBodyReader (http/body.ts) has read and inflated the body under the size limit.
    const body = c.get('pushBody');
    let parsed: ParsedExposition;
    try {
      parsed = await parsePushBody(body, c.req.header('content-type'), names);
    } catch (error) {
      if (error instanceof ExpositionParseError) return jsonError(400, 'invalid_body', error.message);
      throw error;
    }
    let outcome;
    try {
      outcome = await store.apply({
        mode: pushMode,
        grouping,
        families: parsed.families,
        ...(parsed.timestampedSample ? { timestampedSample: parsed.timestampedSample } : {}),
        ...(c.req.header('idempotency-key') !== undefined ? { idempotencyKey: c.req.header('idempotency-key')! } : {}),
        nowMs: clock(),
      });
    } catch (error) {
      return storeFailure(error);
    }
    switch (outcome.status) {
      case 'applied':
        return c.body(null, 200);
      case 'replayed':
        return c.body(null, 200, { 'Idempotent-Replayed': 'true' });
      case 'invalid':
        return jsonError(400, 'invalid_push', outcome.message);
      case 'too-many-series':
        return jsonError(429, 'too_many_series', outcome.message);
      case 'store-full':
        return jsonError(429, 'store_full', outcome.message);
    }
  };

  app.put(`${prefix}/metrics/*`, push(mode.put));
  app.post(`${prefix}/metrics/*`, push(mode.post));
  app.delete(`${prefix}/metrics/*`, async (c) => {
    const grouping = readGrouping(c);
    if (grouping instanceof Response) return grouping;
    try {
      await store.deleteGroup(grouping, clock());
    } catch (error) {
      return storeFailure(error);
    }
    return c.body(null, 202); // also when the group did not exist, as the official gateway
  });
  // Other methods on a group URL: 405 naming the allowed ones, as the official gateway answers.
  // (Hono's `/metrics/*` also matches `/metrics` itself, which is the scrape endpoint: passed on.)
  app.on(['GET', 'HEAD', 'PATCH', 'OPTIONS'], `${prefix}/metrics/*`, async (c, next) => {
    if (c.req.path === `${prefix}/metrics`) return await next();
    return jsonError(405, 'method_not_allowed', 'a group URL accepts PUT, POST and DELETE', { allow: 'DELETE, POST, PUT' });
  });
}
