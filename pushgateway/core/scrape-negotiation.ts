// Which format a scrape gets, from its Accept header, as expfmt.Negotiate decides for the official gateway:
// delimited protobuf when the scraper asks for `application/vnd.google.protobuf` with
// proto=io.prometheus.client.MetricFamily (encoding delimited or unspecified) and prefers it by q; otherwise the
// text formats by core/exposition-format negotiateFormat (OpenMetrics when preferred, else text 0.0.4).
import { type ExpositionFormat, negotiateFormat } from './exposition-format.js';
import { isNameEscaping, type NameEscaping } from './names.js';

export type ScrapeFormat = ExpositionFormat | 'protobuf';

interface AcceptEntry {
  mediaType: string;
  params: Map<string, string>;
  q: number;
}

/** `key=value` parameters of a media type (keys lower-cased, quotes removed), as in Accept and Content-Type. */
export function mediaTypeParameters(params: readonly string[]): Map<string, string> {
  return new Map(
    params.map((param) => {
      const eq = param.indexOf('=');
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
      return [param.slice(0, eq).trim().toLowerCase(), value] as const;
    }),
  );
}

function parseAccept(accept: string): AcceptEntry[] {
  return accept.split(',').map((part) => {
    const [mediaType = '', ...rest] = part.split(';').map((s) => s.trim());
    const params = mediaTypeParameters(rest);
    const q = params.has('q') ? Number(params.get('q')) : 1;
    return { mediaType: mediaType.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 };
  });
}

export function negotiateScrapeFormat(accept: string | undefined | null): ScrapeFormat {
  if (!accept) return 'text';
  const entries = parseAccept(accept);
  const isProtobuf = (e: AcceptEntry) =>
    e.mediaType === 'application/vnd.google.protobuf' &&
    e.params.get('proto') === 'io.prometheus.client.MetricFamily' &&
    (e.params.get('encoding') ?? 'delimited') === 'delimited';
  const protobufQ = Math.max(0, ...entries.filter(isProtobuf).map((e) => e.q));
  const othersQ = Math.max(
    0,
    ...entries
      .filter((e) => !isProtobuf(e) && /^(text\/plain|application\/openmetrics-text|text\/\*|\*\/\*)$/.test(e.mediaType))
      .map((e) => e.q),
  );
  if (protobufQ > 0 && protobufQ >= othersQ) return 'protobuf';
  return negotiateFormat(accept);
}

/**
 * The name escaping a scraper asked for with the `escaping` parameter of its Accept header (Prometheus 3 sends
 * `escaping=allow-utf-8`), from its most preferred entry that names a known scheme; undefined when none does.
 * Without one the scrape gets `underscores`, the default of prometheus/docs escaping_schemes.md.
 */
export function negotiateNameEscaping(accept: string | undefined | null): NameEscaping | undefined {
  if (!accept?.includes('escaping')) return undefined;
  let best: { escaping: NameEscaping; q: number } | undefined;
  for (const entry of parseAccept(accept)) {
    const escaping = entry.params.get('escaping');
    if (escaping === undefined || !isNameEscaping(escaping) || entry.q <= 0) continue;
    if (best === undefined || entry.q > best.q) best = { escaping, q: entry.q };
  }
  return best?.escaping;
}
