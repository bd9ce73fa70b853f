// Strict parser for the Prometheus text exposition format 0.0.4, following the grammar and the error
// messages of Go's expfmt.TextParser (which the official Pushgateway uses), so status codes and most
// messages match. Where expfmt silently accepts a malformed histogram or summary (a bucket without `le`,
// a bare sample inside a histogram family, a repeated bound) and the official gateway then serves
// nonsense, this parser refuses the push with the line number instead.
//
// Why our own parser and not a library: the one maintained npm parser (parse-prometheus-text-format 1.1.1)
// accepts what expfmt refuses (timestamps silently, a missing final newline, unknown TYPEs), has no line
// numbers, produces strings instead of numbers, and was slower on a 5k-series body; see
// pushgateway/README.md "Parser decision" for the cases and the numbers. This one is a single pass over
// the string with no regex per character and no eval, so it runs unchanged on workerd.
import { parseGoFloat } from './float.js';
import { labelText } from './grouping.js';
import type { Bucket, HistogramMetric, Labels, MetricFamily, MetricType, Quantile, ScalarMetric, SummaryMetric } from './model.js';
import { isLegacyLabelName, isValidMetricName, type NameValidation } from './names.js';
import { runInSlices, runToEnd, SLICE, SLICE_BYTES, type Sliced } from './slices.js';

export class ExpositionParseError extends Error {
  override readonly name = 'ExpositionParseError';
  /** 1-based line of the text body; undefined for errors not tied to a line (protobuf). */
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `text format parsing error in line ${line}: ${message}`);
    this.line = line;
  }
}

export interface ParsedExposition {
  families: MetricFamily[];
  /**
   * The first sample that carried a timestamp. Not a syntax error: the official gateway parses such a body
   * and refuses it in validation (which records push_failure_time_seconds), so validation decides.
   */
  timestampedSample?: { name: string; line: number };
}

const knownTypes: Record<string, MetricType> = {
  COUNTER: 'counter',
  GAUGE: 'gauge',
  HISTOGRAM: 'histogram',
  SUMMARY: 'summary',
  UNTYPED: 'untyped',
};

interface ComplexMetricBuilder {
  labels: Labels;
  line: number;
  buckets: Bucket[];
  quantiles: Quantile[];
  sum: number;
  count: number;
}

interface FamilyBuilder {
  name: string;
  help: string | undefined;
  type: MetricType | undefined;
  scalars: ScalarMetric[];
  /** Histogram/summary metrics by their label text (without le/quantile), in first-seen order. */
  complex: Map<string, ComplexMetricBuilder>;
}

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const HASH = 0x23;
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const COMMA = 0x2c;

function isMetricNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}
function isMetricNameChar(c: number): boolean {
  return isMetricNameStart(c) || (c >= 0x30 && c <= 0x39);
}
function isLabelNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}
function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || (c >= 0x30 && c <= 0x39);
}

const integerPattern = /^[+-]?\d+$/;

/**
 * Parses a text 0.0.4 body. Throws ExpositionParseError (and nothing else) on any malformed input.
 * Names may be quoted (`{"a.b",x="1"} 1`, `# TYPE "a.b" gauge`, `"x.y"="1"`), as expfmt reads them since the
 * UTF-8 names work; a quoted name must still be a legacy name unless `validation` is 'utf8'.
 */
export function parseTextExposition(text: string, validation: NameValidation = 'legacy'): ParsedExposition {
  return runToEnd(new TextParser(validation).parse([text]));
}

/** As parseTextExposition, pausing every SLICE lines (core/slices), so a large body does not hold the event loop. */
export function parseTextExpositionInSlices(text: string, validation: NameValidation = 'legacy'): Promise<ParsedExposition> {
  return runInSlices(new TextParser(validation).parse([text]));
}

/** A push body's bytes decoded (decodeTextBodySteps) and parsed, pausing between slices of both (core/slices). */
export function parseTextBodyInSlices(body: Uint8Array, validation: NameValidation = 'legacy'): Promise<ParsedExposition> {
  return runInSlices(
    (function* () {
      const pieces = yield* decodeTextBodySteps(body);
      return yield* new TextParser(validation).parse(pieces);
    })(),
  );
}

class TextParser {
  /** The piece being parsed (see parse); positions and methods below are within it. */
  private text = '';
  private pos = 0;
  private line = 1;
  private readonly families = new Map<string, FamilyBuilder>();
  private timestamped: { name: string; line: number } | undefined;

  constructor(private readonly validation: NameValidation) {}

  /** Parses `pieces` in order as one text: each but the last ends with a newline, so no line spans two. */
  *parse(pieces: readonly string[]): Sliced<ParsedExposition> {
    let pauseAtLine = SLICE;
    for (const piece of pieces) {
      this.text = piece;
      this.pos = 0;
      const { text } = this;
      while (true) {
        if (this.line >= pauseAtLine) {
          pauseAtLine = this.line + SLICE;
          yield;
        }
        this.skipBlanks();
        if (this.pos >= text.length) break; // end of input at the start of a line: the only legitimate end
        const c = text.charCodeAt(this.pos);
        if (c === NEWLINE) {
          this.nextLine();
          continue;
        }
        if (c === HASH) this.comment();
        else this.sample();
      }
    }
    const families: MetricFamily[] = [];
    for (const builder of this.families.values()) {
      const family = this.finish(builder);
      if (family.metrics.length > 0) families.push(family); // a TYPE or HELP without samples declares nothing
    }
    return this.timestamped ? { families, timestampedSample: this.timestamped } : { families };
  }

  private fail(message: string): never {
    throw new ExpositionParseError(message, this.line);
  }

  private nextLine(): void {
    this.pos++;
    this.line++;
  }

  private skipBlanks(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== SPACE && c !== TAB) return;
      this.pos++;
    }
  }

  /** Current char code; running out of input anywhere but at a line start is an error, as in expfmt. */
  private current(): number {
    if (this.pos >= this.text.length) this.fail('unexpected end of input stream');
    return this.text.charCodeAt(this.pos);
  }

  private readUntilWhitespace(): string {
    const { text } = this;
    const start = this.pos;
    while (true) {
      const c = this.current();
      if (c === SPACE || c === TAB || c === NEWLINE) return text.slice(start, this.pos);
      this.pos++;
    }
  }

  /** A bare legacy metric name, or a quoted one; '' when neither starts here. */
  private readMetricName(): string {
    if (this.current() === QUOTE) return this.checkedMetricName(this.quotedName('metric'));
    const start = this.pos;
    if (isMetricNameStart(this.current())) {
      this.pos++;
      while (isMetricNameChar(this.current())) this.pos++;
    }
    return this.text.slice(start, this.pos);
  }

  private checkedMetricName(name: string): string {
    if (!isValidMetricName(name, this.validation)) this.fail(`invalid metric name ${JSON.stringify(name)}`);
    return name;
  }

  /** A `"..."` name (the opening quote is current), escaped as a label value is. */
  private quotedName(kind: 'metric' | 'label'): string {
    this.pos++;
    return this.quotedText(`${kind} name`);
  }

  private readRestOfLine(unescapeHelp: boolean): string {
    const { text } = this;
    const start = this.pos;
    let escaped = false;
    let hasEscape = false;
    while (true) {
      const c = this.current();
      if (c === NEWLINE && !escaped) break;
      if (unescapeHelp) {
        if (escaped) {
          if (c !== BACKSLASH && c !== 0x6e /* n */) this.fail(`invalid escape sequence '\\${String.fromCharCode(c)}'`);
          escaped = false;
        } else if (c === BACKSLASH) {
          escaped = hasEscape = true;
        }
      }
      this.pos++;
    }
    const raw = text.slice(start, this.pos);
    return hasEscape ? raw.replace(/\\(\\|n)/g, (_, e: string) => (e === 'n' ? '\n' : '\\')) : raw;
  }

  private comment(): void {
    this.pos++; // '#'
    this.skipBlanks();
    if (this.current() === NEWLINE) {
      this.nextLine();
      return;
    }
    const keyword = this.readUntilWhitespace();
    if (this.current() === NEWLINE) {
      this.nextLine();
      return;
    }
    if (keyword !== 'HELP' && keyword !== 'TYPE') {
      this.readRestOfLine(false);
      this.nextLine();
      return;
    }
    this.skipBlanks();
    const name = this.readMetricName();
    if (this.current() === NEWLINE) {
      this.nextLine();
      return;
    } // `# HELP name` with nothing after: a plain comment
    const after = this.current();
    if (after !== SPACE && after !== TAB) this.fail('invalid metric name in comment');
    const family = this.familyFor(name).family;
    this.skipBlanks();
    if (this.current() === NEWLINE) {
      this.nextLine();
      return;
    }
    if (keyword === 'HELP') {
      if (family.help !== undefined) this.fail(`second HELP line for metric name ${JSON.stringify(family.name)}`);
      family.help = this.readRestOfLine(true);
    } else {
      if (family.type !== undefined)
        this.fail(`second TYPE line for metric name ${JSON.stringify(family.name)}, or TYPE reported after samples`);
      const token = this.readRestOfLine(false);
      const type = knownTypes[token.toUpperCase()];
      if (!type) this.fail(`unknown metric type ${JSON.stringify(token)}`);
      family.type = type;
    }
    this.nextLine();
  }

  /** expfmt's setOrCreateCurrentMF: `x_sum`/`x_count`(/`x_bucket`) belong to a declared summary (histogram) `x`. */
  private familyFor(name: string): { family: FamilyBuilder; role: 'value' | 'sum' | 'count' | 'bucket' } {
    const exact = this.families.get(name);
    if (exact) return { family: exact, role: 'value' };
    const role = name.endsWith('_sum') ? 'sum' : name.endsWith('_count') ? 'count' : name.endsWith('_bucket') ? 'bucket' : undefined;
    if (role) {
      const base = this.families.get(name.slice(0, name.length - role.length - 1));
      if (base && (base.type === 'histogram' || (base.type === 'summary' && role !== 'bucket'))) return { family: base, role };
    }
    const family: FamilyBuilder = { name, help: undefined, type: undefined, scalars: [], complex: new Map() };
    this.families.set(name, family);
    return { family, role: 'value' };
  }

  private sample(): void {
    // `{"a.b",x="1"} 1`: a name outside the legacy set is the first item inside the braces.
    const insideBraces = this.current() === BRACE_OPEN;
    if (insideBraces) {
      this.pos++;
      this.skipBlanks();
      if (this.current() !== QUOTE) this.fail('invalid metric name');
    }
    const name = this.readMetricName();
    if (name === '') this.fail('invalid metric name');
    if (insideBraces) {
      this.skipBlanks();
      const c = this.current();
      if (c === COMMA) this.pos++;
      else if (c !== BRACE_CLOSE) this.fail(`unexpected end of metric name ${JSON.stringify(String.fromCharCode(c))}`);
    }
    const { family, role } = this.familyFor(name);
    family.type ??= 'untyped';
    const isComplex = family.type === 'histogram' || family.type === 'summary';
    const specialLabel = family.type === 'histogram' ? 'le' : family.type === 'summary' ? 'quantile' : undefined;
    this.skipBlanks();
    const labels: Labels = {};
    let bound: number | undefined;
    if (insideBraces) {
      bound = this.labels(name, labels, specialLabel);
    } else if (this.current() === BRACE_OPEN) {
      this.pos++;
      bound = this.labels(name, labels, specialLabel);
    }
    this.skipBlanks();
    const valueToken = this.readUntilWhitespace();
    const value = parseGoFloat(valueToken);
    if (value === undefined) this.fail(`expected float as value, got ${JSON.stringify(valueToken)}`);
    if (this.current() !== NEWLINE) {
      this.skipBlanks();
      const timestampToken = this.readUntilWhitespace();
      if (!integerPattern.test(timestampToken)) this.fail(`expected integer as timestamp, got ${JSON.stringify(timestampToken)}`);
      this.skipBlanks();
      if (this.current() !== NEWLINE) this.fail(`spurious string after timestamp: ${JSON.stringify(this.readUntilWhitespace())}`);
      this.timestamped ??= { name, line: this.line };
    }
    if (!isComplex) {
      family.scalars.push({ labels, value });
    } else {
      this.complexSample(family, role, name, labels, bound, value);
    }
    this.nextLine();
  }

  private complexSample(
    family: FamilyBuilder,
    role: 'value' | 'sum' | 'count' | 'bucket',
    name: string,
    labels: Labels,
    bound: number | undefined,
    value: number,
  ): void {
    const key = labelText(labels);
    let metric = family.complex.get(key);
    if (!metric) {
      metric = { labels, line: this.line, buckets: [], quantiles: [], sum: 0, count: 0 };
      family.complex.set(key, metric);
    }
    if (role === 'sum') metric.sum = value;
    else if (role === 'count') metric.count = value;
    else if (family.type === 'histogram') {
      if (role !== 'bucket')
        this.fail(`sample ${JSON.stringify(name)} in histogram ${JSON.stringify(family.name)} is not a _bucket, _sum or _count`);
      if (bound === undefined) this.fail(`histogram bucket ${JSON.stringify(name)} has no 'le' label`);
      if (metric.buckets.some((b) => b.upperBound === bound || (Number.isNaN(b.upperBound) && Number.isNaN(bound))))
        this.fail(`duplicate bucket le="${valueLabel(bound)}" for ${JSON.stringify(name)}`);
      metric.buckets.push({ upperBound: bound, cumulativeCount: value });
    } else {
      if (bound === undefined) this.fail(`summary sample ${JSON.stringify(name)} has no 'quantile' label`);
      if (metric.quantiles.some((q) => q.quantile === bound))
        this.fail(`duplicate quantile="${valueLabel(bound)}" for ${JSON.stringify(name)}`);
      metric.quantiles.push({ quantile: bound, value });
    }
  }

  /** Reads `name="value",...}`; returns the parsed `le`/`quantile` bound when the family has one. */
  private labels(metricName: string, labels: Labels, specialLabel: string | undefined): number | undefined {
    const { text } = this;
    const end = text.length;
    let bound: number | undefined;
    let boundSeen = false;
    while (true) {
      this.skipBlanks();
      if (this.current() === BRACE_CLOSE) {
        this.pos++;
        return bound;
      }
      let labelName: string;
      if (text.charCodeAt(this.pos) === QUOTE) {
        labelName = this.quotedName('label');
        if (this.validation === 'utf8' ? labelName === '' : !isLegacyLabelName(labelName))
          this.fail(`invalid label name ${JSON.stringify(labelName)}`);
      } else {
        // Hot loop: plain locals instead of this.current() per character; running off the end is checked once.
        const start = this.pos;
        let pos = start;
        if (pos < end && isLabelNameStart(text.charCodeAt(pos))) {
          pos++;
          while (pos < end && isLabelNameChar(text.charCodeAt(pos))) pos++;
        }
        this.pos = pos;
        labelName = text.slice(start, pos);
      }
      if (labelName === '') {
        this.current(); // end of input is reported as such
        this.fail(`invalid label name for metric ${JSON.stringify(metricName)}`);
      }
      if (labelName === '__name__') this.fail('label name "__name__" is reserved');
      // `__` names are refused by validation; this one must not even reach a plain object's prototype slot.
      if (labelName === '__proto__') this.fail('label name "__proto__" is reserved');
      const isSpecial = labelName === specialLabel;
      if (isSpecial ? boundSeen : Object.hasOwn(labels, labelName))
        this.fail(`duplicate label names for metric ${JSON.stringify(metricName)}`);
      this.skipBlanks();
      if (this.current() !== EQUALS)
        this.fail(`expected '=' after label name, found ${JSON.stringify(String.fromCharCode(this.current()))}`);
      this.pos++;
      this.skipBlanks();
      if (this.current() !== QUOTE)
        this.fail(`expected '"' at start of label value, found ${JSON.stringify(String.fromCharCode(this.current()))}`);
      this.pos++;
      const value = this.quotedText('label value');
      if (isSpecial) {
        const parsed = parseGoFloat(value);
        if (parsed === undefined) this.fail(`expected float as value for '${specialLabel}' label, got ${JSON.stringify(value)}`);
        bound = parsed;
        boundSeen = true;
      } else {
        labels[labelName] = value;
      }
      this.skipBlanks();
      const c = this.current();
      if (c === COMMA) this.pos++;
      else if (c !== BRACE_CLOSE) this.fail(`unexpected end of label value ${JSON.stringify(value)}`);
    }
  }

  /** The rest of a quoted string after its opening quote, unescaped (`\\`, `\"`, `\n`); the closing quote is consumed. */
  private quotedText(what: 'label value' | 'metric name' | 'label name'): string {
    const { text } = this;
    const end = text.length;
    const start = this.pos;
    let pos = start;
    let hasEscape = false;
    while (true) {
      if (pos >= end) {
        this.pos = pos;
        this.fail('unexpected end of input stream');
      }
      const c = text.charCodeAt(pos);
      if (c === QUOTE) break;
      if (c === NEWLINE) {
        this.pos = pos;
        this.fail(`${what} contains a newline`);
      }
      if (c === BACKSLASH) {
        pos++;
        const e = pos < end ? text.charCodeAt(pos) : -1;
        if (e === -1) {
          this.pos = pos;
          this.fail('unexpected end of input stream');
        }
        if (e !== BACKSLASH && e !== QUOTE && e !== 0x6e) this.fail(`invalid escape sequence '\\${String.fromCharCode(e)}'`);
        hasEscape = true;
      }
      pos++;
    }
    const raw = text.slice(start, pos);
    this.pos = pos + 1; // past the closing quote
    return hasEscape ? raw.replace(/\\(["\\n])/g, (_, e: string) => (e === 'n' ? '\n' : e)) : raw;
  }

  private finish(builder: FamilyBuilder): MetricFamily {
    const type = builder.type ?? 'untyped';
    if (type !== 'histogram' && type !== 'summary') return { name: builder.name, help: builder.help, type, metrics: builder.scalars };
    const metrics: Array<HistogramMetric | SummaryMetric> = [];
    for (const m of builder.complex.values()) {
      if (type === 'summary') {
        metrics.push({ labels: m.labels, quantiles: m.quantiles.sort((a, b) => a.quantile - b.quantile), sum: m.sum, count: m.count });
        continue;
      }
      if (m.buckets.some((b) => Number.isNaN(b.upperBound))) {
        this.line = m.line;
        this.fail(`histogram ${JSON.stringify(builder.name)} has a bucket with le="NaN"`);
      }
      const buckets = m.buckets.sort((a, b) => a.upperBound - b.upperBound);
      // As expfmt does when it writes a histogram: an absent +Inf bucket holds every observation.
      if (buckets.length === 0 || buckets[buckets.length - 1]!.upperBound !== Infinity)
        buckets.push({ upperBound: Infinity, cumulativeCount: m.count });
      metrics.push({ labels: m.labels, buckets, sum: m.sum, count: m.count });
    }
    return { name: builder.name, help: builder.help, type, metrics };
  }
}

function valueLabel(bound: number): string {
  return Number.isNaN(bound) ? 'NaN' : bound === Infinity ? '+Inf' : bound === -Infinity ? '-Inf' : String(bound);
}

// ignoreBOM keeps a leading U+FEFF as a character: stripping it would make distinct values collide.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Body bytes as text; invalid UTF-8 is a parse error (expfmt: "invalid label value"). */
export function decodeTextBody(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new ExpositionParseError('the body is not valid UTF-8');
  }
}

/**
 * As decodeTextBody, pausing every SLICE_BYTES (core/slices), in pieces of about that size that each end at a
 * newline, so no line spans two. Not one string: V8 would allocate and copy the megabytes of a large body into it
 * in one step (~300 ms for 32 MB on a busy core). A newline byte is never part of a multi-byte character, so the
 * body is valid UTF-8 exactly when every piece is, and every piece is decoded before any is parsed: the same
 * error as decodeTextBody, whatever else is wrong with the body.
 */
export function* decodeTextBodySteps(body: Uint8Array): Sliced<string[]> {
  if (body.byteLength <= SLICE_BYTES) return [decodeTextBody(body)];
  const pieces: string[] = [];
  for (let from = 0; from < body.byteLength; ) {
    const newline = body.indexOf(NEWLINE, Math.min(from + SLICE_BYTES, body.byteLength) - 1);
    const to = newline < 0 ? body.byteLength : newline + 1;
    pieces.push(decodeTextBody(body.subarray(from, to)));
    from = to;
    if (from < body.byteLength) yield;
  }
  return pieces;
}
