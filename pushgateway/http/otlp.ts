// POST /v1/metrics, OTLP/HTTP: decode (otlp/decode), translate (otlp/translate), hand the points to the store,
// answer ExportMetricsServiceResponse in the request's encoding. Status codes are the ones OTLP exporters act on:
// 200 (with partial_success when points were refused: exporters do not retry those), 400 for an undecodable body
// and 415 for another Content-Type (not retried), 413 from the body reader, 429/503 with Retry-After when the
// gateway refuses for load and nothing was applied (retried, which exactly-once makes safe).
import type { Hono } from 'hono';
import type { OtlpPointCounter } from '../otlp/metrics.js';
import type { GatewayStore, OtlpOutcome } from '../store/types.js';
import type { BodyVariables } from './body.js';
import { jsonError, retryAfterStoreFailure } from './errors.js';
import type { GatewayLog } from './push.js';

export interface OtlpRouteOptions {
  store: GatewayStore;
  log: GatewayLog;
  clock: () => number;
  counter: OtlpPointCounter;
  onStoreError: (error: unknown) => void;
}

/** Seconds an exporter is asked to wait when full: the series and byte limits free up only as groups expire. */
const retryAfterFull = '30';

/**
 * The decoder and its generated descriptors (@bufbuild/protobuf), imported on the first OTLP request: a gateway
 * nobody sends OTLP to does not hold them in memory.
 */
let otlpCodec: Promise<[typeof import('../otlp/decode.js'), typeof import('../otlp/translate.js')]> | undefined;
const loadOtlpCodec = () => (otlpCodec ??= Promise.all([import('../otlp/decode.js'), import('../otlp/translate.js')]));

export function registerOtlpRoute(
  app: Hono<{ Variables: BodyVariables }>,
  { store, log, clock, counter, onStoreError }: OtlpRouteOptions,
): void {
  app.post('/v1/metrics', async (c) => {
    const [{ decodeExportRequest, encodeExportResponse, OtlpDecodeError, otlpContentTypes, otlpEncodingOf }, { translateExportRequest }] =
      await loadOtlpCodec();
    const encoding = otlpEncodingOf(c.req.header('content-type'));
    if (!encoding)
      return jsonError(415, 'unsupported_media_type', 'OTLP/HTTP metrics must be sent as application/x-protobuf or application/json');
    let request;
    try {
      request = decodeExportRequest(c.get('pushBody'), encoding);
    } catch (error) {
      if (error instanceof OtlpDecodeError) return jsonError(400, 'invalid_body', error.message);
      throw error;
    }
    const translation = await translateExportRequest(request);
    let outcome: OtlpOutcome;
    try {
      outcome = await store.applyOtlp({ groups: translation.groups, nowMs: clock() });
    } catch (error) {
      onStoreError(error);
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'gateway store failed');
      return jsonError(503, 'store_unavailable', 'the gateway store is unavailable; nothing was changed, retry later', {
        'retry-after': retryAfterStoreFailure,
      });
    }
    counter.add('applied', outcome.applied);
    counter.add('replayed', outcome.replayed);
    counter.add('overlapping', outcome.overlapping);
    counter.add('invalid', outcome.invalid + translation.rejected);
    counter.add('over_capacity', outcome.overCapacity);
    counter.add('skipped', translation.skipped);
    const refused = outcome.overlapping + outcome.invalid + translation.rejected;
    if (outcome.overCapacity > 0 && outcome.applied === 0 && refused === 0)
      return jsonError(429, 'over_capacity', outcome.messages.join('; '), { 'retry-after': retryAfterFull });
    const rejected = refused + outcome.overCapacity;
    const message = rejected > 0 ? [...translation.messages, ...outcome.messages].join('; ') : '';
    return c.body(encodeExportResponse(encoding, rejected, message), 200, { 'content-type': otlpContentTypes[encoding] });
  });
}
