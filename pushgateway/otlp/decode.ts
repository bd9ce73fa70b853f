// The OTLP/HTTP wire: an ExportMetricsServiceRequest in binary protobuf or in the proto3 JSON mapping (camelCase or
// original field names, 64-bit integers as strings or numbers, enums as integers or names), and the
// ExportMetricsServiceResponse in the request's encoding. The codec is @bufbuild/protobuf over code that
// protoc-gen-es generated from proto/ (`npm run proto`): it is table-driven and never builds code with eval or
// new Function, which workerd forbids, so the same decoder runs on Node and in the Worker and Durable Object.
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from '@bufbuild/protobuf';
import {
  type ExportMetricsServiceRequest,
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from '../proto/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';

export type OtlpEncoding = 'protobuf' | 'json';

export const otlpContentTypes: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

export class OtlpDecodeError extends Error {
  constructor(encoding: OtlpEncoding, cause: unknown) {
    super(
      `the ${encoding === 'json' ? 'JSON' : 'protobuf'} body is not an OTLP ExportMetricsServiceRequest: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'OtlpDecodeError';
  }
}

/** The encoding a Content-Type names, or undefined for any other type (a 415). */
export function otlpEncodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/x-protobuf') return 'protobuf';
  if (mediaType === 'application/json') return 'json';
  return undefined;
}

export function decodeExportRequest(body: Uint8Array, encoding: OtlpEncoding): ExportMetricsServiceRequest {
  try {
    if (encoding === 'protobuf') return fromBinary(ExportMetricsServiceRequestSchema, body, { readUnknownFields: false });
    // Fields this gateway does not model (exemplars, metadata, entity refs) are skipped, as the binary decoder does.
    return fromJsonString(ExportMetricsServiceRequestSchema, new TextDecoder('utf-8', { fatal: true }).decode(body), {
      ignoreUnknownFields: true,
    });
  } catch (error) {
    throw new OtlpDecodeError(encoding, error);
  }
}

/** The success answer; `partial_success` is set only when points were refused (the spec: unset means all accepted). */
export function encodeExportResponse(
  encoding: OtlpEncoding,
  rejectedDataPoints: number,
  errorMessage: string,
): string | Uint8Array<ArrayBuffer> {
  const response = create(
    ExportMetricsServiceResponseSchema,
    rejectedDataPoints > 0 || errorMessage !== ''
      ? { partialSuccess: { rejectedDataPoints: BigInt(rejectedDataPoints), errorMessage } }
      : {},
  );
  return encoding === 'json'
    ? toJsonString(ExportMetricsServiceResponseSchema, response)
    : (toBinary(ExportMetricsServiceResponseSchema, response) as Uint8Array<ArrayBuffer>);
}
