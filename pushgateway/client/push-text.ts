// Text exposition format 0.0.4 for the pushes the client sends. Hand-written rather than prom-client's
// `registry.metrics()` because the client sends *deltas* and selected series, values prom-client cannot render.
import type { Labels } from '../core/model.js';
import { utf8ByteLength } from '../core/validate.js';
import type { BodyWriter, FamilyHeader, SeriesValue } from './body-writer.js';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function renderHeader({ name, help, type }: FamilyHeader): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

function renderSample(name: string, labels: Labels, value: number, extraLabel?: [string, string]): string {
  let rendered = '';
  for (const label in labels) rendered += `${rendered ? ',' : ''}${label}="${escapeLabelValue(labels[label]!)}"`;
  if (extraLabel) rendered += `${rendered ? ',' : ''}${extraLabel[0]}="${escapeLabelValue(extraLabel[1])}"`;
  return rendered ? `${name}{${rendered}} ${formatValue(value)}\n` : `${name} ${formatValue(value)}\n`;
}

function renderSeries(name: string, series: SeriesValue): string {
  if (!('bounds' in series)) return renderSample(name, series.labels, series.value);
  let text = '';
  for (let i = 0; i < series.bounds.length; i++) {
    const bound = series.bounds[i]!;
    text += renderSample(`${name}_bucket`, series.labels, series.cumulative[i]!, ['le', bound === Infinity ? '+Inf' : String(bound)]);
  }
  text += renderSample(`${name}_sum`, series.labels, series.sum);
  text += renderSample(`${name}_count`, series.labels, series.count);
  return text;
}

/** A text 0.0.4 body: each family's HELP and TYPE before its first series, sizes exact. */
export function textBodyWriter(): BodyWriter {
  let body = '';
  let open: string | undefined;
  return {
    emptyBytes: 0,
    familyBytes: (family) => utf8ByteLength(renderHeader(family)),
    measure(family, series) {
      const text = renderSeries(family.name, series);
      return {
        bytes: utf8ByteLength(text),
        add() {
          if (open !== family.name) body += renderHeader(family);
          open = family.name;
          body += text;
        },
      };
    },
    finish: () => body,
  };
}
