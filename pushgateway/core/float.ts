// Numbers as Go's Prometheus libraries read and write them, so our exposition is byte-identical to the
// official gateway's: values are written like strconv.FormatFloat(v, 'g', -1, 64) (shortest digits,
// exponent form below 1e-4 and from 1e6 on, two-digit exponents) with +Inf/-Inf/NaN spelled out, and read
// like strconv.ParseFloat (decimal or exponent form, case-insensitive inf/infinity/nan, optional sign).

const decimalFloat = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const specialFloat = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * Parses a sample value or `le`/`quantile` bound; undefined when it is not a float Go would accept.
 * A decimal beyond float64's range (1e999) is refused as ParseFloat's ErrRange is; underflow to 0 is not an error there.
 */
export function parseGoFloat(token: string): number | undefined {
  if (decimalFloat.test(token)) {
    const value = Number(token);
    return Number.isFinite(value) ? value : undefined;
  }
  const special = specialFloat.exec(token);
  if (!special) return undefined;
  if (special[2]!.toLowerCase() === 'nan') return Number.NaN;
  return special[1] === '-' ? -Infinity : Infinity;
}

/** Formats a value as the official gateway renders it (expfmt writeFloat). */
export function formatGoFloat(value: number): string {
  if (value === 0) return '0'; // also -0, as expfmt does
  if (value === 1) return '1';
  if (value === -1) return '-1';
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const exponential = value.toExponential(); // shortest round-tripping digits, like Go's -1 precision
  const e = exponential.indexOf('e');
  const exponent = Number(exponential.slice(e + 1));
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    const digits = String(Math.abs(exponent));
    return `${exponential.slice(0, e)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
  }
  return String(value);
}
