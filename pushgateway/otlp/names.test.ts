import { describe, expect, it } from 'vitest';
import { attributesToLabels, prometheusLabelName, prometheusMetricName, unitSuffix } from './names.js';

describe('OTLP names to Prometheus names', () => {
  it('appends the unit in words, _ratio for gauges of unit 1 and _total for monotonic sums, once', () => {
    expect(prometheusMetricName('http.server.duration', 's', 'other')).toBe('http_server_duration_seconds');
    expect(prometheusMetricName('http.server.duration.seconds', 's', 'other')).toBe('http_server_duration_seconds');
    expect(prometheusMetricName('system.network.io', 'By', 'counter')).toBe('system_network_io_bytes_total');
    expect(prometheusMetricName('requests_total', '{request}', 'counter')).toBe('requests_total');
    expect(prometheusMetricName('cpu.utilization', '1', 'gauge')).toBe('cpu_utilization_ratio');
    expect(prometheusMetricName('cpu.utilization', '1', 'other')).toBe('cpu_utilization');
    expect(prometheusMetricName('throughput', 'By/s', 'gauge')).toBe('throughput_bytes_per_second');
    expect(prometheusMetricName('2xx--count', '', 'gauge')).toBe('_2xx_count');
    expect(unitSuffix('{packets}/s')).toBe('per_second');
    expect(unitSuffix('mo')).toBe('mo');
  });

  it('sanitizes label names and joins the values of attributes that collide', () => {
    expect(prometheusLabelName('http.method')).toBe('http_method');
    expect(prometheusLabelName('4xx')).toBe('key_4xx');
    expect(prometheusLabelName('_private')).toBe('key_private');
    expect(prometheusLabelName('__name__')).toBe('key__name__');
    expect(
      attributesToLabels([
        ['a/b', '2'],
        ['a.b', '1'],
        ['c', '3'],
      ]),
    ).toEqual({ a_b: '1;2', c: '3' });
  });
});
