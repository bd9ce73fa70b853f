// Self-metrics under Prometheus' own remote-write names, so dashboards and alerts written for a Prometheus
// sender (e.g. the mixin's PrometheusRemoteWriteBehind) work unchanged. Labelled by `url` with any
// credentials removed.
import { formatGoFloat } from '../core/float.js';
import { renderHeader, type ExpositionFormat } from '../core/exposition-format.js';
import { escapeLabelValue } from '../core/grouping.js';

export interface DestinationCounters {
  /** Samples accepted by the receiver (2xx). */
  samplesSent: number;
  /** Samples refused with a non-retryable answer (4xx other than 429) or a bad request. */
  samplesFailed: number;
  /** Samples in requests that were sent again after a 5xx, 429 or network error. */
  samplesRetried: number;
  /** Samples dropped before delivery: the queue was full (an older snapshot made way for a newer one). */
  samplesDropped: number;
  /** Compressed request bytes accepted by the receiver. */
  bytesSent: number;
  /** Compressed bytes waiting in the queue. */
  queueBytes: number;
  samplesPending: number;
  /** Timestamp (s) of the newest sample the receiver accepted; 0 before the first success. */
  highestSentTimestampSeconds: number;
}

export function newCounters(): DestinationCounters {
  return {
    samplesSent: 0,
    samplesFailed: 0,
    samplesRetried: 0,
    samplesDropped: 0,
    bytesSent: 0,
    queueBytes: 0,
    samplesPending: 0,
    highestSentTimestampSeconds: 0,
  };
}

const families: Array<{ name: string; type: 'counter' | 'gauge'; help: string; value: (c: DestinationCounters) => number }> = [
  {
    name: 'prometheus_remote_storage_samples_total',
    type: 'counter',
    help: 'Samples sent to remote storage.',
    value: (c) => c.samplesSent,
  },
  {
    name: 'prometheus_remote_storage_samples_failed_total',
    type: 'counter',
    help: 'Samples that failed to be sent to remote storage with a non-recoverable error.',
    value: (c) => c.samplesFailed,
  },
  {
    name: 'prometheus_remote_storage_samples_retried_total',
    type: 'counter',
    help: 'Samples that failed to be sent to remote storage with a recoverable error and were retried.',
    value: (c) => c.samplesRetried,
  },
  {
    name: 'prometheus_remote_storage_samples_dropped_total',
    type: 'counter',
    help: 'Samples dropped before being sent because the queue was full.',
    value: (c) => c.samplesDropped,
  },
  {
    name: 'prometheus_remote_storage_bytes_total',
    type: 'counter',
    help: 'Compressed bytes of samples accepted by remote storage.',
    value: (c) => c.bytesSent,
  },
  {
    name: 'prometheus_remote_storage_queue_bytes',
    type: 'gauge',
    help: 'Compressed bytes waiting in the queue to be sent.',
    value: (c) => c.queueBytes,
  },
  {
    name: 'prometheus_remote_storage_samples_pending',
    type: 'gauge',
    help: 'Samples waiting in the queue to be sent.',
    value: (c) => c.samplesPending,
  },
  {
    name: 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds',
    type: 'gauge',
    help: 'Timestamp of the newest sample remote storage accepted.',
    value: (c) => c.highestSentTimestampSeconds,
  },
];

/** Exposition text for every destination, plus the newest timestamp taken from the store. */
export function renderRemoteWriteMetrics(
  destinations: ReadonlyArray<{ url: string; counters: DestinationCounters }>,
  highestTimestampSeconds: number,
  format: ExpositionFormat,
): string {
  let text = '';
  for (const family of families) {
    text += renderHeader({ name: family.name, help: family.help, type: family.type }, format);
    for (const { url, counters } of destinations)
      text += `${family.name}{url="${escapeLabelValue(url)}"} ${formatGoFloat(family.value(counters))}\n`;
  }
  text += renderHeader(
    {
      name: 'prometheus_remote_storage_highest_timestamp_in_seconds',
      help: 'Timestamp of the newest snapshot taken from the store for remote write.',
      type: 'gauge',
    },
    format,
  );
  text += `prometheus_remote_storage_highest_timestamp_in_seconds ${formatGoFloat(highestTimestampSeconds)}\n`;
  return text;
}
