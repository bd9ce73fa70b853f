// process_* metrics as the official gateway exposes them (a subset), so RSS and CPU compare side by side
// on one dashboard. Node only: workerd has no process to measure.
import { formatGoFloat } from './core/float.js';
import { renderHeader, type ExpositionFormat } from './core/exposition-format.js';

const startedAtSeconds = Date.now() / 1000;

export function processMetrics(format: ExpositionFormat): string {
  const usage = process.cpuUsage();
  const gauge = (name: string, help: string, value: number, type: 'gauge' | 'counter' = 'gauge') =>
    renderHeader({ name, help, type }, format) + `${name} ${formatGoFloat(value)}\n`;
  return (
    gauge('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (usage.user + usage.system) / 1e6, 'counter') +
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', process.memoryUsage.rss()) +
    gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', startedAtSeconds)
  );
}
