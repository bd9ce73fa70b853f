// The two protocols the pusher speaks; everything else (deltas, retries, bounds, warnings) is shared.
//   pushgateway: text 0.0.4 to /aggregate — counters and histograms to the job's group (summed across
//                instances), gauges to the group of job + instance; retries recognised by Idempotency-Key.
//   otlp:        OTLP/HTTP protobuf to /v1/metrics — everything in one resource (service.name = job,
//                service.instance.id = instance, so the group of job + instance); retries recognised by the
//                interval every delta point carries (the gateway's exactly-once rule for OpenTelemetry SDKs).
import type { BodyWriter, DeltaInterval } from './body-writer.js';
import { OTLP_PROTOBUF, otlpDeltaWriter, otlpGaugeWriter, otlpRefusedPoints } from './otlp-body.js';
import { textBodyWriter } from './push-text.js';

export type PushProtocol = 'pushgateway' | 'otlp';

export interface PushWire {
  deltaUrl: string;
  gaugeUrl: string;
  contentType: string;
  /** Whether each request carries its Idempotency-Key (OTLP has no such header: its points carry intervals). */
  sendsIdempotencyKey: boolean;
  deltaWriter(interval: DeltaInterval): BodyWriter;
  gaugeWriter(timeNs: bigint): BodyWriter;
  /** Points a 2xx answer says were refused (OTLP partial success); never for the text protocol, which answers 400. */
  refused(body: Uint8Array | undefined): { count: number; message: string } | undefined;
}

/** A grouping label value in URL form; `@base64` keeps values with '/' (or empty ones) intact. */
function pathSegment(label: string, value: string): string {
  if (value !== '' && !value.includes('/')) return `${label}/${encodeURIComponent(value)}`;
  if (value === '') return `${label}@base64/=`;
  const bytes = new TextEncoder().encode(value);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `${label}@base64/${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

export function pushWire(protocol: PushProtocol, { url, job, instance }: { url: string; job: string; instance: string }): PushWire {
  const base = url.replace(/\/+$/, '');
  if (protocol === 'otlp') {
    const otlpUrl = `${base}/v1/metrics`;
    const resource = { job, instance };
    return {
      deltaUrl: otlpUrl,
      gaugeUrl: otlpUrl,
      contentType: OTLP_PROTOBUF,
      sendsIdempotencyKey: false,
      deltaWriter: (interval) => otlpDeltaWriter(resource, interval),
      gaugeWriter: (timeNs) => otlpGaugeWriter(resource, timeNs),
      refused: otlpRefusedPoints,
    };
  }
  const deltaUrl = `${base}/aggregate/metrics/${pathSegment('job', job)}`;
  return {
    deltaUrl,
    gaugeUrl: `${deltaUrl}/${pathSegment('instance', instance)}`,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    sendsIdempotencyKey: true,
    deltaWriter: () => textBodyWriter(),
    gaugeWriter: () => textBodyWriter(),
    refused: () => undefined,
  };
}
