// Decodes a remote-write body for assertions: snappy block (snappyjs, with the declared length checked), then
// the WriteRequest read field by field with @bufbuild/protobuf's BinaryReader, which knows nothing of the
// encoder's code paths and skips fields it does not expect.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { uncompress } from 'snappyjs';

export interface DecodedSeries {
  labels: Array<[string, string]>;
  samples: Array<{ value: number; timestampMs: number }>;
  /** prompb.Histogram messages, as their raw bytes (the Prometheus receiver tests read them back by PromQL). */
  histograms?: Uint8Array[];
}

function decodeLabel(bytes: Uint8Array): [string, string] {
  const reader = new BinaryReader(bytes);
  let name = '';
  let value = '';
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    if (field === 1) name = reader.string();
    else if (field === 2) value = reader.string();
    else reader.skip(type);
  }
  return [name, value];
}

function decodeSample(bytes: Uint8Array): { value: number; timestampMs: number } {
  const reader = new BinaryReader(bytes);
  let value = 0;
  let timestampMs = 0;
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    if (field === 1 && type === WireType.Bit64) value = reader.double();
    else if (field === 2 && type === WireType.Varint) timestampMs = Number(reader.int64());
    else reader.skip(type);
  }
  return { value, timestampMs };
}

export function decodeWriteRequest(protobuf: Uint8Array): DecodedSeries[] {
  const reader = new BinaryReader(protobuf);
  const series: DecodedSeries[] = [];
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    if (field !== 1) {
      reader.skip(type);
      continue;
    }
    const inner = new BinaryReader(reader.bytes());
    const entry: DecodedSeries = { labels: [], samples: [] };
    while (inner.pos < inner.len) {
      const [innerField, innerType] = inner.tag();
      if (innerField === 1) entry.labels.push(decodeLabel(inner.bytes()));
      else if (innerField === 2) entry.samples.push(decodeSample(inner.bytes()));
      else if (innerField === 4) (entry.histograms ??= []).push(inner.bytes());
      else inner.skip(innerType);
    }
    series.push(entry);
  }
  return series;
}

export function decodeRequestBody(body: Uint8Array): DecodedSeries[] {
  return decodeWriteRequest(uncompress(body, 64 * 1024 * 1024));
}
