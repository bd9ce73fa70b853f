// Text exposition 0.0.4 exactly as the official gateway writes it (expfmt: labels sorted by name, `le` and
// `quantile` last, Go float formatting, HELP escaping), and OpenMetrics 1.0 for scrapers that ask for it.
// Sample lines are identical in both formats (we keep every series name as pushed), so stores cache them
// once per group and family; only the per-family header differs.
import { formatGoFloat } from './float.js';
import { labelText } from './grouping.js';
import { isHistogram, isSummary, type Metric, type MetricFamily, type MetricType } from './model.js';
import { metricNameText, sampleSeriesText } from './names.js';

export type ExpositionFormat = 'text' | 'openmetrics';

export const contentTypes: Record<ExpositionFormat, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** A family ready to print: its header data and its sample lines (each ending in "\n"). */
export interface RenderableFamily {
  name: string;
  help: string | undefined;
  type: MetricType;
  lines: string;
}

function sampleLine(name: string, labels: string, extra: string, value: number): string {
  const all = labels === '' ? extra : extra === '' ? labels : `${labels},${extra}`;
  return `${sampleSeriesText(name, all)} ${formatGoFloat(value)}\n`;
}

/** The sample lines of one metric; `labels` is its sorted label text (see grouping.labelText). */
export function renderMetricLines(name: string, metric: Metric, labels: string): string {
  if (isHistogram(metric)) {
    let out = '';
    for (const bucket of metric.buckets)
      out += sampleLine(`${name}_bucket`, labels, `le="${formatGoFloat(bucket.upperBound)}"`, bucket.cumulativeCount);
    // A histogram that is only native has no classic buckets, which the text formats cannot carry: expfmt (and so the
    // official gateway) then writes the +Inf bucket alone, from the count.
    if (metric.buckets.length === 0) out += sampleLine(`${name}_bucket`, labels, 'le="+Inf"', metric.count);
    return out + sampleLine(`${name}_sum`, labels, '', metric.sum) + sampleLine(`${name}_count`, labels, '', metric.count);
  }
  if (isSummary(metric)) {
    let out = '';
    for (const q of metric.quantiles) out += sampleLine(name, labels, `quantile="${formatGoFloat(q.quantile)}"`, q.value);
    return out + sampleLine(`${name}_sum`, labels, '', metric.sum) + sampleLine(`${name}_count`, labels, '', metric.count);
  }
  return sampleLine(name, labels, '', metric.value);
}

function escapeHelp(help: string, format: ExpositionFormat): string {
  const pattern = format === 'text' ? /[\\\n]/g : /[\\\n"]/g;
  return help.replace(pattern, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * The header of a family. OpenMetrics names a counter family without its `_total` suffix and wants its
 * samples to carry one; a counter pushed without `_total` (or whose stem is taken by another family) is
 * declared `unknown` there instead, so that its series keep the name they have in the text format.
 */
export function renderHeader(
  family: { name: string; help: string | undefined; type: MetricType },
  format: ExpositionFormat,
  isNameTaken: (name: string) => boolean = () => false,
): string {
  if (format === 'text') {
    const name = metricNameText(family.name);
    const help = family.help === undefined ? '' : `# HELP ${name} ${escapeHelp(family.help, 'text')}\n`;
    return `${help}# TYPE ${name} ${family.type}\n`;
  }
  let name = family.name;
  let type: string = family.type;
  if (type === 'untyped') type = 'unknown';
  if (type === 'counter') {
    const stem = name.endsWith('_total') ? name.slice(0, -'_total'.length) : undefined;
    if (stem !== undefined && stem !== '' && !isNameTaken(stem)) name = stem;
    else type = 'unknown';
  }
  const nameText = metricNameText(name);
  const help = family.help === undefined ? '' : `# HELP ${nameText} ${escapeHelp(family.help, 'openmetrics')}\n`;
  return `# TYPE ${nameText} ${type}\n${help}`;
}

/** Renders standalone families (labels taken as they are), in the given order, as a complete body. */
export function renderFamilies(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const renderable = families.map((family) => ({
    name: family.name,
    help: family.help,
    type: family.type,
    lines: family.metrics.map((metric) => renderMetricLines(family.name, metric, labelText(metric.labels))).join(''),
  }));
  return renderExposition(renderable, format) + endOfExposition(format);
}

export function renderExposition(families: readonly RenderableFamily[], format: ExpositionFormat): string {
  const names = format === 'openmetrics' ? new Set(families.map((f) => f.name)) : undefined;
  const taken = (name: string) => names?.has(name) ?? false;
  let out = '';
  for (const family of families) out += renderHeader(family, format, taken) + family.lines;
  return out;
}

/** What closes a complete body: OpenMetrics ends with `# EOF`. */
export function endOfExposition(format: ExpositionFormat): string {
  return format === 'openmetrics' ? '# EOF\n' : '';
}

/** Picks OpenMetrics when the Accept header prefers it (as Prometheus does), else text 0.0.4. */
export function negotiateFormat(accept: string | undefined | null): ExpositionFormat {
  if (!accept?.includes('application/openmetrics-text')) return 'text';
  let openMetricsQ = 0;
  let textQ = 0;
  for (const part of accept.split(',')) {
    const [mediaType = '', ...params] = part.split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (mediaType === 'application/openmetrics-text') openMetricsQ = Math.max(openMetricsQ, q);
    else if (mediaType === 'text/plain' || mediaType === '*/*' || mediaType === 'text/*') textQ = Math.max(textQ, q);
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? 'openmetrics' : 'text';
}
