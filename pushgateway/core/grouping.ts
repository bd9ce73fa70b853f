// The official URL grammar for groups: /metrics/job/<JOB>{/<LABEL>/<VALUE>}, where a name suffixed with
// `@base64` carries a URL-safe base64 value (padding optional, `=` alone meaning the empty value), as in
// prometheus/pushgateway handler/push.go splitLabels. Also the canonical key that identifies a group.
import type { Labels } from './model.js';
import { isPushableLabelName, labelNameText, type NameValidation, unescapeValuesName } from './names.js';

export class GroupingError extends Error {
  override readonly name = 'GroupingError';
}

const base64Suffix = '@base64';

const base64UrlAlphabet = /^[A-Za-z0-9_-]*$/;
// ignoreBOM keeps a leading U+FEFF as a character: stripping it would make distinct values collide.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** URL-safe base64 with or without padding (Go: RawURLEncoding after trimming `=`). */
export function decodeBase64UrlValue(encoded: string): string {
  const raw = encoded.replace(/=+$/, '');
  if (!base64UrlAlphabet.test(raw) || raw.length % 4 === 1) throw new Error('illegal base64 data');
  // atob exists on Node and Workers alike; it only knows the standard alphabet and wants padding.
  const standard = raw.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (raw.length % 4)) % 4);
  const binary = atob(standard);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Error('decoded value is not valid UTF-8');
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GroupingError(`invalid percent-encoding in URL segment ${JSON.stringify(segment)}`);
  }
}

/**
 * A label name of the path: with UTF-8 names on, `U__`-escaped names are unescaped (`U__foo_2e_bar` is
 * `foo.bar`, official 1.11 handler/push.go splitLabels). Refused when reserved either way: the official checks only
 * the escaped form, which would let `U_____x` smuggle in the reserved `__x` as `U______x`.
 */
function pathLabelName(segment: string, validation: NameValidation): string {
  const name = validation === 'utf8' ? unescapeValuesName(segment) : segment;
  if (segment.startsWith('__') || !isPushableLabelName(name, validation))
    throw new GroupingError(`improper label name ${JSON.stringify(segment)}`);
  return name;
}

/**
 * Parses the part of the path after `/metrics/` (e.g. `job/api/instance@base64/aG9zdA`) into grouping
 * labels, job included. Segments are percent-decoded one by one, so an encoded `/` stays inside its value.
 */
export function parseGroupingPath(path: string, validation: NameValidation = 'legacy'): Labels {
  const segments = path.split('/').map(decodeSegment);
  const [jobName, jobValue, ...rest] = segments;
  if (jobName !== 'job' && jobName !== `job${base64Suffix}`) throw new GroupingError('the path must start with /metrics/job/<JOB>');
  let job = jobValue ?? '';
  if (jobName !== 'job') {
    try {
      job = decodeBase64UrlValue(job);
    } catch (error) {
      throw new GroupingError(`invalid base64 encoding for job=${JSON.stringify(jobValue)}: ${(error as Error).message}`);
    }
  }
  if (job === '') throw new GroupingError('job name is required');
  const labels: Labels = {};
  // A single trailing slash after the job (`/metrics/job/a/`) names no label, as in the official gateway.
  if (!(rest.length === 1 && rest[0] === '')) {
    if (rest.length % 2 === 1) throw new GroupingError(`odd number of components in label string ${JSON.stringify(`/${rest.join('/')}`)}`);
    for (let i = 0; i < rest.length; i += 2) {
      const name = rest[i]!;
      const value = rest[i + 1]!;
      const isBase64 = name.endsWith(base64Suffix);
      const labelName = pathLabelName(isBase64 ? name.slice(0, -base64Suffix.length) : name, validation);
      if (!isBase64) {
        labels[labelName] = value;
        continue;
      }
      try {
        labels[labelName] = decodeBase64UrlValue(value);
      } catch (error) {
        throw new GroupingError(
          `invalid base64 encoding for label ${name.slice(0, -base64Suffix.length)}=${JSON.stringify(value)}: ${(error as Error).message}`,
        );
      }
    }
  }
  labels.job = job; // the job segment wins over a `job` label later in the path, as in the official gateway
  return labels;
}

/**
 * The labels that identify a group: the URL's, with `instance=""` when absent. The official gateway keeps
 * `/job/a` and `/job/a/instance/` as two groups whose push_time_seconds series collide; we treat them as one.
 */
export function groupIdentity(grouping: Labels): Labels {
  return 'instance' in grouping ? grouping : { ...grouping, instance: '' };
}

export function escapeLabelValue(value: string): string {
  // Fast path: most values need no escaping.
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * `a="1",b="x"` with names sorted: the label part of a series key and of every rendered sample line. A name
 * outside the legacy set (UTF-8 names on) is quoted, as the text formats write it under `escaping=allow-utf-8`.
 */
export function labelText(labels: Labels): string {
  const names = Object.keys(labels).sort();
  const parts = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) parts[i] = `${labelNameText(names[i]!)}="${escapeLabelValue(labels[names[i]!]!)}"`;
  // join gives one flat string; `+=` would keep a tree of string pieces alive for every stored series.
  return parts.join(',');
}

/** The `\\`, `\"` and `\n` escapes of a quoted label name or value, undone. */
function unescapeQuoted(text: string): string {
  return text.includes('\\') ? text.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c)) : text;
}

/** The end of a quoted string that opens at `start` (its closing quote's index). */
function closingQuote(text: string, start: number): number {
  let end = start + 1;
  while (text[end] !== '"') {
    if (end >= text.length) throw new Error(`unterminated quoted string in label text ${JSON.stringify(text)}`);
    end += text[end] === '\\' ? 2 : 1;
  }
  return end;
}

/**
 * labelText back into labels. Stores that keep only the label text of a series (the memory store) rebuild the
 * labels with it when they are asked for; it reads exactly what labelText writes.
 */
export function parseLabelText(text: string): Labels {
  const labels: Labels = {};
  let at = 0;
  while (at < text.length) {
    let name: string;
    if (text[at] === '"') {
      const end = closingQuote(text, at);
      name = unescapeQuoted(text.slice(at + 1, end));
      at = end + 1;
    } else {
      const equals = text.indexOf('=', at);
      name = text.slice(at, equals);
      at = equals;
    }
    if (text[at] !== '=' || text[at + 1] !== '"') throw new Error(`malformed label text ${JSON.stringify(text)}`);
    const end = closingQuote(text, at + 1);
    labels[name] = unescapeQuoted(text.slice(at + 2, end));
    at = end + 1;
    if (at < text.length && text[at++] !== ',') throw new Error(`malformed label text ${JSON.stringify(text)}`);
  }
  return labels;
}

/** Canonical group key: the sorted, escaped grouping labels (instance included). Unambiguous because values are quoted and escaped. */
export function groupKey(grouping: Labels): string {
  return labelText(groupIdentity(grouping));
}
