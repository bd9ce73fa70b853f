// gateway_otlp_points_total{outcome}: what became of the OTLP points this process received. Per process, as
// pushgateway_http_requests_total is: with several replicas Prometheus sums them.
import { type ExpositionFormat, renderHeader } from '../core/exposition-format.js';
import { formatGoFloat } from '../core/float.js';

export const otlpOutcomes = ['applied', 'replayed', 'overlapping', 'invalid', 'over_capacity', 'skipped'] as const;
export type OtlpPointOutcome = (typeof otlpOutcomes)[number];

export class OtlpPointCounter {
  readonly #counts = new Map<OtlpPointOutcome, number>(otlpOutcomes.map((outcome) => [outcome, 0]));

  add(outcome: OtlpPointOutcome, points: number): void {
    this.#counts.set(outcome, this.#counts.get(outcome)! + points);
  }

  count(outcome: OtlpPointOutcome): number {
    return this.#counts.get(outcome)!;
  }

  render(format: ExpositionFormat): string {
    let text = renderHeader(
      {
        name: 'gateway_otlp_points_total',
        help: 'OTLP data points received on /v1/metrics, by outcome (replayed: a delta window applied before; overlapping: refused).',
        type: 'counter',
      },
      format,
    );
    for (const outcome of otlpOutcomes) text += `gateway_otlp_points_total{outcome="${outcome}"} ${formatGoFloat(this.count(outcome))}\n`;
    return text;
  }
}
