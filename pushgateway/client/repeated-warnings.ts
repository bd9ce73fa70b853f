// A gateway that stays down answers every retry the same way; logging each attempt turned a 5-second outage at
// shutdown into dozens of identical lines. Each warning message is written at most once per window, carrying how
// many times it repeated since its previous line, and what is held back at the end is written by flush().
import type { PusherLogger } from './pusher.js';

interface Seen {
  lastMs: number;
  held: number;
}

export class RepeatedWarnings {
  // Keyed by message: the pusher's messages are a fixed set of literals, so this stays a handful of entries.
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly logger: PusherLogger,
    private readonly now: () => number,
    private readonly windowMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const entry = this.seen.get(message);
    if (entry && now - entry.lastMs < this.windowMs) {
      entry.held++;
      return;
    }
    const held = entry?.held ?? 0;
    this.seen.set(message, { lastMs: now, held: 0 });
    this.logger.warn(held > 0 ? { ...fields, repeatedBefore: held } : fields, message);
  }

  /** Writes, per message, how many lines were held back since its last one (at shutdown, before logs close). */
  flush(): void {
    for (const [message, entry] of this.seen) {
      if (entry.held === 0) continue;
      this.logger.warn({ repeated: entry.held }, `${message} (repeated ${entry.held} more times)`);
      entry.held = 0;
    }
  }
}
