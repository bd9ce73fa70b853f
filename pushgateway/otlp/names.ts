// OTLP names to Prometheus names, as the OpenTelemetry specification's "Prometheus and OpenMetrics Compatibility"
// says (and Prometheus' own OTLP translator does): invalid characters become `_`, runs of `_` collapse, the unit
// is appended in Prometheus words (`s` → `_seconds`, `By` → `_bytes`, `1/s` → `_per_second`), a gauge of unit `1`
// gets `_ratio`, a monotonic sum gets `_total`. Label names are sanitized the same way; attributes whose names
// collide after that share one label, their values joined by `;` in the order of the original names.

const unitWords: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

const perUnitWords: Record<string, string> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** Characters outside [a-zA-Z0-9_:] (metric names) become `_`, runs of `_` one `_`, and a leading digit gets `_`. */
function sanitize(name: string, allowColon: boolean): string {
  const pattern = allowColon ? /[^a-zA-Z0-9_:]+/g : /[^a-zA-Z0-9_]+/g;
  const cleaned = name.replace(pattern, '_').replace(/_{2,}/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** The unit in Prometheus words (`{annotations}` dropped), or "" when it adds nothing. */
export function unitSuffix(unit: string): string {
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '' || bare === '1') return '';
  const slash = bare.indexOf('/');
  const main = slash < 0 ? bare : bare.slice(0, slash);
  const per = slash < 0 ? '' : bare.slice(slash + 1);
  const words: string[] = [];
  if (main !== '' && main !== '1') words.push(unitWords[main] ?? main);
  if (per !== '') words.push(`per_${perUnitWords[per] ?? unitWords[per] ?? per}`);
  return sanitize(words.join('_'), false).replace(/^_+|_+$/g, '');
}

export type NamedKind = 'gauge' | 'counter' | 'other';

/** The Prometheus family name of an OTLP metric. */
export function prometheusMetricName(name: string, unit: string, kind: NamedKind): string {
  let result = sanitize(name, true);
  const tokens = () => result.split('_');
  const suffix = unitSuffix(unit);
  if (suffix !== '' && !result.endsWith(`_${suffix}`) && result !== suffix) result = `${result}_${suffix}`;
  if (kind === 'gauge' && unit.replace(/\{[^}]*\}/g, '').trim() === '1' && !tokens().includes('ratio')) result = `${result}_ratio`;
  if (kind === 'counter' && !result.endsWith('_total')) result = `${result}_total`;
  return result === '' ? '_' : result;
}

/**
 * A Prometheus label name for an attribute key: `key_` before a leading digit, `key` before a leading `_` (so an
 * attribute named `__x` does not land in the names Prometheus reserves, which the gateway refuses in pushes).
 */
export function prometheusLabelName(key: string): string {
  const cleaned = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (cleaned === '') return 'key_empty';
  if (/^[0-9]/.test(cleaned)) return `key_${cleaned}`;
  if (cleaned.startsWith('_')) return `key${cleaned}`;
  return cleaned;
}

/** Attribute key/value pairs (already turned to strings) as Prometheus labels; colliding names join values with `;`. */
export function attributesToLabels(attributes: readonly (readonly [string, string])[]): Record<string, string> {
  const sorted = [...attributes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const labels: Record<string, string> = {};
  for (const [key, value] of sorted) {
    const name = prometheusLabelName(key);
    labels[name] = name in labels ? `${labels[name]};${value}` : value;
  }
  return labels;
}
