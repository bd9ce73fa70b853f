// Metric and label name character sets, and the escaping schemes that carry UTF-8 names to scrapers and
// through URL paths, as Prometheus defines them (prometheus/docs instrumenting/escaping_schemes.md; the
// official gateway 1.11 README, "UTF-8 support for metric and label names").
//
// Legacy names are `[a-zA-Z_:][a-zA-Z0-9_:]*` (metrics) and `[a-zA-Z_][a-zA-Z0-9_]*` (labels). With
// GATEWAY_ENABLE_UTF8_NAMES any non-empty UTF-8 string is a name, as with the official gateway's
// --push.enable-utf8-names. Strings reaching us are always well-formed UTF-16 (bodies and URL segments are
// decoded fatally), so "valid UTF-8" needs no check of its own here.

/** Which names a push may use: the legacy character set, or any UTF-8 (GATEWAY_ENABLE_UTF8_NAMES). */
export type NameValidation = 'legacy' | 'utf8';

/** How names outside the legacy set are written for a scraper (the Accept header's `escaping` parameter). */
export type NameEscaping = 'allow-utf-8' | 'underscores' | 'dots' | 'values';

const nameEscapings: ReadonlySet<string> = new Set<NameEscaping>(['allow-utf-8', 'underscores', 'dots', 'values']);

export function isNameEscaping(value: string): value is NameEscaping {
  return nameEscapings.has(value);
}

/** a-z, A-Z, `_`, `:` anywhere; digits after the first character (the legacy metric-name alphabet). */
function isLegacyRune(code: number, index: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    code === 0x5f ||
    code === 0x3a ||
    (code >= 0x30 && code <= 0x39 && index > 0)
  );
}

export function isLegacyMetricName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (!isLegacyRune(name.charCodeAt(i), i)) return false;
  return true;
}

export function isLegacyLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code === 0x3a || !isLegacyRune(code, i)) return false;
  }
  return true;
}

export function isValidMetricName(name: string, validation: NameValidation = 'legacy'): boolean {
  return validation === 'utf8' ? name.length > 0 : isLegacyMetricName(name);
}

/** Valid and not reserved: names starting with `__` are Prometheus-internal and refused in pushes. */
export function isPushableLabelName(name: string, validation: NameValidation = 'legacy'): boolean {
  if (name.startsWith('__')) return false;
  return validation === 'utf8' ? name.length > 0 : isLegacyLabelName(name);
}

/**
 * A name as a scraper that negotiated `escaping` should see it. Legacy names are left alone by every scheme,
 * `dots` included, as expfmt's EscapeMetricFamily does: only names that need escaping are escaped.
 */
export function escapeName(name: string, escaping: NameEscaping): string {
  if (escaping === 'allow-utf-8' || isLegacyMetricName(name)) return name;
  let out = escaping === 'values' ? 'U__' : '';
  let index = 0;
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (code === 0x5f) out += escaping === 'underscores' ? '_' : '__';
    else if (escaping === 'dots' && code === 0x2e) out += '_dot_';
    else if (isLegacyRune(code, index)) out += char;
    else if (escaping === 'values') out += `_${code.toString(16)}_`;
    else out += escaping === 'dots' ? '__' : '_';
    index += char.length;
  }
  return out;
}

/**
 * The `values` scheme backwards (`U__foo_2e_bar` -> `foo.bar`), as the official gateway reads label names in
 * the URL path with UTF-8 names on. A name without the `U__` prefix, or with a malformed escape, is taken as it
 * is (the official rule, so an unescaped name that merely looks escaped keeps working).
 */
export function unescapeValuesName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const escaped = name.slice(3);
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const char = escaped[i]!;
    if (char !== '_') {
      out += char;
      continue;
    }
    i++;
    if (i >= escaped.length) return name;
    if (escaped[i] === '_') {
      out += '_';
      continue;
    }
    const close = escaped.indexOf('_', i);
    const hex = close === -1 ? '' : escaped.slice(i, close);
    // At most six hex digits (U+10FFFF), and a code point that is a character (not a surrogate half).
    if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) return name;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return name;
    out += String.fromCodePoint(code);
    i = close;
  }
  return out;
}

/** `\`, newline and `"` escaped: how a quoted name is written in the text formats. */
function quoted(name: string): string {
  return `"${name.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}

/** A label name as the text formats write it: bare when legacy, else quoted (only under `allow-utf-8`). */
export function labelNameText(name: string): string {
  return isLegacyLabelName(name) ? name : quoted(name);
}

/** A metric name in a HELP or TYPE line: bare when legacy, else quoted. */
export function metricNameText(name: string): string {
  return isLegacyMetricName(name) ? name : quoted(name);
}

/**
 * The start of a sample line for a metric name and its rendered label pairs: `name{labels}`, or, for a name
 * outside the legacy set, the quoted name as the first item inside the braces (`{"a.b",x="1"}`).
 */
export function sampleSeriesText(name: string, labels: string): string {
  if (isLegacyMetricName(name)) return labels === '' ? name : `${name}{${labels}}`;
  return labels === '' ? `{${quoted(name)}}` : `{${quoted(name)},${labels}}`;
}
