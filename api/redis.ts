// Options for the `@upstash/redis` client, shared by both entries (Node imports `@upstash/redis`,
// the Worker `@upstash/redis/cloudflare`; both take these). Redis is an optional accelerator here
// (cache, rate limit), so a slow or dead Redis must fail fast rather than hold requests: no retries,
// and every command aborts after `timeoutMs`.
export function upstashOptions({ url, token, timeoutMs }: { url: string; token: string; timeoutMs: number }) {
  return {
    url,
    token,
    retry: false as const,
    signal: () => AbortSignal.timeout(timeoutMs),
    enableTelemetry: false,
  };
}
