// Remote-write settings (names fixed by DESIGN.md), read into the gateway's EnvReader. Credentials are never
// echoed in problems; a header value is not either, since X-Scope-OrgID-style headers often carry tokens.
import type { EnvReader } from '../config/env.js';

export type RemoteWriteAuth = { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

export interface RemoteWriteConfig {
  /** Receivers (GATEWAY_REMOTE_WRITE_URL, comma-separated); each gets its own queue. */
  urls: string[];
  intervalSeconds: number;
  auth: RemoteWriteAuth | undefined;
  /** Extra headers sent with every request (GATEWAY_REMOTE_WRITE_HEADERS). */
  headers: Record<string, string>;
  /** Bound of each receiver's queue, in compressed bytes. */
  maxQueueBytes: number;
  /** Samples per request, as Prometheus' max_samples_per_send. */
  maxSamplesPerSend: number;
  /** Requests in flight per receiver, as Prometheus' shards. */
  shards: number;
}

export const defaultRemoteWriteSettings = {
  intervalSeconds: 15,
  maxQueueBytes: 64 * 1024 * 1024,
  maxSamplesPerSend: 2000,
  shards: 4,
};

// Header names a user may not override: the protocol's own, and what fetch computes.
const RESERVED_HEADERS = new Set([
  'content-encoding',
  'content-type',
  'content-length',
  'x-prometheus-remote-write-version',
  'user-agent',
  'authorization',
  'host',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function readHeaders(reader: EnvReader): Record<string, string> {
  const raw = reader.string('GATEWAY_REMOTE_WRITE_HEADERS');
  const headers: Record<string, string> = {};
  if (raw === undefined) return headers;
  for (const [index, part] of raw.split(';').entries()) {
    if (part.trim() === '') continue;
    const colon = part.indexOf(':');
    const name = colon < 0 ? '' : part.slice(0, colon).trim();
    const value = colon < 0 ? '' : part.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name) || value === '' || /[\r\n]/.test(value)) {
      reader.problem(`GATEWAY_REMOTE_WRITE_HEADERS entry ${index + 1} must be "Name: value" (pairs separated by ";")`);
    } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      reader.problem(
        `GATEWAY_REMOTE_WRITE_HEADERS may not set ${name} (use GATEWAY_REMOTE_WRITE_BEARER_TOKEN or _USERNAME/_PASSWORD for authorization)`,
      );
    } else {
      headers[name] = value;
    }
  }
  return headers;
}

function readUrls(reader: EnvReader): string[] {
  const raw = reader.string('GATEWAY_REMOTE_WRITE_URL');
  if (raw === undefined) return [];
  const urls: string[] = [];
  for (const [index, part] of raw.split(',').entries()) {
    const candidate = part.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(candidate);
    } catch {
      parsed = undefined;
    }
    // The value is not echoed: receiver URLs often carry credentials.
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
      reader.problem(`GATEWAY_REMOTE_WRITE_URL entry ${index + 1} must be an http or https URL`);
    else urls.push(candidate);
  }
  return urls;
}

/** undefined when GATEWAY_REMOTE_WRITE_URL is unset: remote write is off. */
export function readRemoteWriteConfig(reader: EnvReader): RemoteWriteConfig | undefined {
  const d = defaultRemoteWriteSettings;
  const urls = readUrls(reader);
  const token = reader.string('GATEWAY_REMOTE_WRITE_BEARER_TOKEN');
  const username = reader.string('GATEWAY_REMOTE_WRITE_USERNAME');
  const password = reader.string('GATEWAY_REMOTE_WRITE_PASSWORD');
  let auth: RemoteWriteAuth | undefined;
  if ((username === undefined) !== (password === undefined)) {
    reader.problem(
      username === undefined
        ? 'GATEWAY_REMOTE_WRITE_PASSWORD must be set together with GATEWAY_REMOTE_WRITE_USERNAME'
        : 'GATEWAY_REMOTE_WRITE_USERNAME must be set together with GATEWAY_REMOTE_WRITE_PASSWORD',
    );
  }
  if (token !== undefined && username !== undefined)
    reader.problem('GATEWAY_REMOTE_WRITE_BEARER_TOKEN and GATEWAY_REMOTE_WRITE_USERNAME/_PASSWORD are exclusive; set one');
  else if (token !== undefined) auth = { kind: 'bearer', token };
  else if (username !== undefined && password !== undefined) auth = { kind: 'basic', username, password };
  const config: RemoteWriteConfig = {
    urls,
    intervalSeconds: reader.integer('GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS', d.intervalSeconds, 1, 86_400),
    auth,
    headers: readHeaders(reader),
    maxQueueBytes: reader.integer('GATEWAY_REMOTE_WRITE_MAX_QUEUE_BYTES', d.maxQueueBytes, 1024, 16 * 1024 * 1024 * 1024),
    maxSamplesPerSend: reader.integer('GATEWAY_REMOTE_WRITE_MAX_SAMPLES_PER_SEND', d.maxSamplesPerSend, 1, 1_000_000),
    shards: reader.integer('GATEWAY_REMOTE_WRITE_SHARDS', d.shards, 1, 256),
  };
  if (urls.length === 0) {
    const stray = ['GATEWAY_REMOTE_WRITE_BEARER_TOKEN', 'GATEWAY_REMOTE_WRITE_USERNAME', 'GATEWAY_REMOTE_WRITE_HEADERS'].filter(
      (name) => reader.string(name) !== undefined,
    );
    if (stray.length > 0 && reader.string('GATEWAY_REMOTE_WRITE_URL') === undefined)
      reader.problem(`${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} set but GATEWAY_REMOTE_WRITE_URL is not`);
    return undefined;
  }
  return config;
}
