// Alternating A/B(/C…) rounds: every round measures each variant once, back to back, and the starting
// variant rotates so none always runs first (right after a GC-quiet pause, or right after another's load).

export interface Variant<T> {
  name: string;
  measure(round: number): Promise<T>;
}

export async function alternate<T>(variants: Variant<T>[], rounds: number): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(variants.map((variant) => [variant.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < variants.length; offset++) {
      const variant = variants[(round + offset) % variants.length]!;
      results.get(variant.name)!.push(await variant.measure(round));
    }
  }
  return results;
}

export interface BenchSettings {
  quick: boolean;
  rounds: number;
  /** Seconds of measured load per variant per round. */
  seconds: number;
  /** Seconds of unmeasured load before the first round (JIT warm-up). */
  warmupSeconds: number;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const rounds = Number(env.BENCH_ROUNDS ?? (quick ? 2 : 5));
  const seconds = Number(env.BENCH_SECONDS ?? (quick ? 2 : 5));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got ${env.BENCH_ROUNDS}`);
  if (!(seconds >= 1)) throw new Error(`BENCH_SECONDS must be ≥ 1, got ${env.BENCH_SECONDS}`);
  return { quick, rounds, seconds, warmupSeconds: quick ? 1 : 3 };
}

/**
 * The gateway suites measure three variants over two store sizes (and the official gateway is slow to load),
 * so they run at most `max` rounds to keep the whole run under 10 minutes; BENCH_ROUNDS still lowers it.
 */
export function atMostRounds(settings: BenchSettings, max: number): BenchSettings {
  return { ...settings, rounds: Math.min(settings.rounds, max) };
}
