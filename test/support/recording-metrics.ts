import type { Metrics, MetricUnit } from '../../lambdas/core/ports';

/** One value a step recorded. */
export interface RecordedMetric {
  name: string;
  unit: MetricUnit;
  value: number;
  dimensions: Record<string, string>;
}

/** A {@link Metrics} that keeps what the core records, for assertions. */
export class RecordingMetrics implements Metrics {
  readonly values: RecordedMetric[] = [];
  add(name: string, unit: MetricUnit, value: number, dimensions: Record<string, string> = {}): void {
    this.values.push({ name, unit, value, dimensions });
  }
  /** The values of `name` whose dimensions are exactly `dimensions`. */
  of(name: string, dimensions: Record<string, string> = {}): number[] {
    const key = JSON.stringify(Object.entries(dimensions).sort());
    return this.values
      .filter((v) => v.name === name && JSON.stringify(Object.entries(v.dimensions).sort()) === key)
      .map((v) => v.value);
  }
}
