// The gateway's error body. The official gateway answers 400 with a plain-text message; we keep its
// status codes and put the same message in the JSON shape the whole product uses.
/** Seconds a client is asked to wait after a 503 for a store failure, which is brief (a restart, a shard that is slow). */
export const retryAfterStoreFailure = '5';

export function jsonError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
