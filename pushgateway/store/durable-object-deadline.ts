// A bound on how long one Durable Object waits for another. Objects call each other over RPC, and an object that
// does not answer (overloaded, stuck in a long event, its machine unreachable) would otherwise hold its caller,
// and everything queued behind the caller, for as long as it stays silent.

/** The awaited work did not settle within its deadline; the work itself may still settle later, unobserved. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

/** `work`, or a DeadlineExceededError carrying `message()` once `ms` pass first. The timer never outlives the call. */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(message())), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
