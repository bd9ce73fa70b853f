// What a push attempt tells the client about the gateway's state — the heart of "exactly once".
//   acknowledged: applied now, or replayed because this key was applied before.
//   invalid:      400 — the gateway validated the whole push and stored nothing; re-sending cannot help.
//   not-applied:  certainly not applied (429, 413 and other definitive 4xx refusals, or the connection was
//                 refused before the request was sent); the increments may go out again under a new key.
//   unknown:      timeout, reset, 5xx — it may have been applied; only the same body under the same key is safe.

export type TransportResult =
  /** `body`: the answer when it is short (the transport drops long ones). */
  | { kind: 'response'; status: number; body?: Uint8Array }
  /** Nothing left this process (connection refused, DNS failure): the gateway cannot have applied anything. */
  | { kind: 'not-sent'; error: string }
  /** The request may have reached the gateway (timeout, reset mid-request…). */
  | { kind: 'unknown'; error: string };

export type AttemptOutcome =
  | { kind: 'acknowledged'; body?: Uint8Array }
  | { kind: 'invalid'; detail: string }
  | { kind: 'not-applied'; detail: string; tooLarge: boolean }
  | { kind: 'unknown'; detail: string };

export function classify(result: TransportResult): AttemptOutcome {
  if (result.kind === 'not-sent') return { kind: 'not-applied', detail: result.error, tooLarge: false };
  if (result.kind === 'unknown') return { kind: 'unknown', detail: result.error };
  const { status } = result;
  if (status >= 200 && status < 300) return result.body ? { kind: 'acknowledged', body: result.body } : { kind: 'acknowledged' };
  if (status === 400) return { kind: 'invalid', detail: 'HTTP 400' };
  // 408: the server gave up waiting for the request, but a proxy may have forwarded it in full — not certain.
  if (status === 408 || status >= 500 || status < 200) return { kind: 'unknown', detail: `HTTP ${status}` };
  return { kind: 'not-applied', detail: `HTTP ${status}`, tooLarge: status === 413 };
}
