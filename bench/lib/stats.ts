// Order statistics for a handful of rounds: the median is what we quote, min–max is the spread.
// With 3–7 rounds an IQR would be little more than min–max, so min–max is shown (and is the honest one).

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

/**
 * Ratios are taken per round (A and B measured back to back share the machine's noise of that moment),
 * then summarised — not a ratio of two medians taken minutes apart.
 */
export function pairedRatios(numerator: readonly number[], denominator: readonly number[]): number[] {
  const rounds = Math.min(numerator.length, denominator.length);
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) ratios.push(numerator[round]! / denominator[round]!);
  return ratios;
}
