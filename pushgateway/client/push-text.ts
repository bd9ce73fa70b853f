// Text exposition format 0.0.4 for the pushes the client sends. Hand-written rather than prom-client's
// `registry.metrics()` because the client sends *deltas* and selected series, values prom-client cannot render.
import type { Labels } from '../core/model.js';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function renderHeader(name: string, help: string, type: 'counter' | 'gauge' | 'histogram'): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

export function renderSample(name: string, labels: Labels, value: number, extraLabel?: [string, string]): string {
  let rendered = '';
  for (const label in labels) rendered += `${rendered ? ',' : ''}${label}="${escapeLabelValue(labels[label]!)}"`;
  if (extraLabel) rendered += `${rendered ? ',' : ''}${extraLabel[0]}="${escapeLabelValue(extraLabel[1])}"`;
  return rendered ? `${name}{${rendered}} ${formatValue(value)}\n` : `${name} ${formatValue(value)}\n`;
}
