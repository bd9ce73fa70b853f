// Prometheus Remote-Write 1.0 request bodies: a protobuf `prometheus.WriteRequest` (prompb/remote.proto,
// types.proto), snappy BLOCK-compressed (not the framed format). Written with @bufbuild/protobuf's
// BinaryWriter rather than generated code: the message is three nested types, and BinaryWriter is
// a well-kept, dependency-free encoder that runs on workerd (no eval, no Node APIs). snappyjs is a pure-JS
// snappy block compressor for the same reason (the native `snappy` binding cannot load on workerd).
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { compress } from 'snappyjs';

/** One sample of one series; `labels` are sorted by name and hold no empty values (see series.ts). */
export interface RemoteSample {
  labels: ReadonlyArray<readonly [name: string, value: string]>;
  value: number;
  timestampMs: number;
}

// Field numbers of prompb.WriteRequest / TimeSeries / Label / Sample.
const WRITE_REQUEST_TIMESERIES = 1;
const TIMESERIES_LABELS = 1;
const TIMESERIES_SAMPLES = 2;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;

/** The uncompressed protobuf WriteRequest: one TimeSeries with one Sample per entry. */
export function encodeWriteRequest(samples: readonly RemoteSample[]): Uint8Array<ArrayBuffer> {
  const writer = new BinaryWriter();
  for (const sample of samples) {
    writer.tag(WRITE_REQUEST_TIMESERIES, WireType.LengthDelimited).fork();
    for (const [name, value] of sample.labels) {
      writer.tag(TIMESERIES_LABELS, WireType.LengthDelimited).fork();
      writer.tag(LABEL_NAME, WireType.LengthDelimited).string(name);
      writer.tag(LABEL_VALUE, WireType.LengthDelimited).string(value);
      writer.join();
    }
    writer.tag(TIMESERIES_SAMPLES, WireType.LengthDelimited).fork();
    writer.tag(SAMPLE_VALUE, WireType.Bit64).double(sample.value);
    writer.tag(SAMPLE_TIMESTAMP, WireType.Varint).int64(sample.timestampMs);
    writer.join();
    writer.join();
  }
  return writer.finish();
}

/** The HTTP body of one remote-write request. */
export function encodeRequestBody(samples: readonly RemoteSample[]): Uint8Array<ArrayBuffer> {
  return compress(encodeWriteRequest(samples));
}

export const remoteWriteHeaders = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;
