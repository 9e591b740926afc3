/**
 * A model of how CloudWatch evaluates a metric alarm, built from the CloudWatch user guide's own
 * words (quoted beside each rule), so that tests can replay weeks of metric data against the
 * alarms certflow synthesizes (an `AWS::CloudWatch::Alarm`'s properties) or puts at run time (a
 * `PutMetricAlarm` input: the same field names) and count the hours each alarm spends in ALARM.
 *
 * Sources (quoted below as [EVAL], [WINDOW], [MISSING], [TABLE], [FILL]):
 * - [EVAL] CloudWatch user guide, "Alarm evaluation"
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html).
 * - [WINDOW] CloudWatch user guide, "Alarm evaluation window"
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html).
 * - [MISSING] CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data" and its
 *   section "How alarm state is evaluated when data is missing"
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html;
 *   the same text in awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md).
 * - [TABLE] the two tables of examples in [MISSING] (test/unit/cloudwatch-alarm-model.test.ts
 *   encodes every row).
 * - [FILL] CloudWatch user guide, "Using metric math", functions table, FILL
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
 *
 * What the documentation leaves open is a parameter of the model, and the tests run every value:
 * how many periods the evaluation range holds beyond Evaluation Periods, and whether FILL of a
 * series with no data at all in the range yields filled points or nothing. Only the metric math
 * certflow uses is modelled (FILL with a number, + - * /); anything else throws, so an alarm the
 * model cannot evaluate fails its test instead of passing unexamined.
 */

/** [MISSING] "For each alarm, you can specify CloudWatch to treat missing data points as any of the following". */
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** [EVAL] "A metric alarm has the following possible states: OK … ALARM … INSUFFICIENT_DATA". */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** One data point of the evaluation range: `X` breaching, `0` not breaching, `-` missing (the guide's notation). */
export type Classified = 'X' | '0' | '-';

export type ComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

export type Statistic = 'Minimum' | 'Maximum' | 'Sum' | 'Average' | 'SampleCount';

/** A metric by namespace, name and dimensions (a dimension value may be a CloudFormation token). */
export interface MetricKey {
  namespace: string;
  metricName: string;
  dimensions: Record<string, unknown>;
}

/** One query of an alarm: a metric with its statistic and period, or a metric math expression. */
export interface AlarmQuery {
  id: string;
  metric?: { key: MetricKey; stat: Statistic; periodSeconds: number };
  expression?: string;
  returnData: boolean;
}

/** The settings of one alarm that decide its state. */
export interface AlarmDefinition {
  name: string;
  /** [EVAL] "Period is the length of time to use to evaluate the metric or expression to create each individual data point". */
  periodSeconds: number;
  /** [EVAL] "Evaluation Periods is the number of the most recent periods, or data points, to evaluate". */
  evaluationPeriods: number;
  /** [EVAL] "Datapoints to Alarm is the number of data points within the Evaluation Periods that must be breaching". */
  datapointsToAlarm: number;
  threshold: number;
  comparison: ComparisonOperator;
  /** [MISSING] "The default behavior is missing." */
  treatMissingData: TreatMissingData;
  queries: AlarmQuery[];
}

/** The unique string of a metric (dimension values compared as JSON, so tokens such as `{Ref}` match). */
export function metricKeyString(key: MetricKey): string {
  const dims = Object.keys(key.dimensions)
    .sort()
    .map((k) => [k, key.dimensions[k]]);
  return JSON.stringify([key.namespace, key.metricName, dims]);
}

type Json = Record<string, unknown>;

function dimensionsOf(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of (list as Json[] | undefined) ?? []) out[String(d.Name)] = d.Value;
  return out;
}

function num(value: unknown, field: string, alarm: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new Error(`${alarm}: ${field} is not a number: ${String(value)}`);
  return n;
}

/**
 * An alarm's definition from its properties: an `AWS::CloudWatch::Alarm` resource's `Properties`
 * or a `PutMetricAlarm` input (both use the API's field names).
 */
export function alarmFromProperties(name: string, p: Json): AlarmDefinition {
  const evaluationPeriods = num(p.EvaluationPeriods, 'EvaluationPeriods', name);
  let queries: AlarmQuery[];
  let periodSeconds: number;
  if (Array.isArray(p.Metrics)) {
    queries = (p.Metrics as Json[]).map((m) => {
      const stat = m.MetricStat as Json | undefined;
      const metric = stat?.Metric as Json | undefined;
      return {
        id: String(m.Id),
        returnData: m.ReturnData !== false,
        expression: typeof m.Expression === 'string' ? m.Expression : undefined,
        metric:
          stat && metric
            ? {
                key: {
                  namespace: String(metric.Namespace),
                  metricName: String(metric.MetricName),
                  dimensions: dimensionsOf(metric.Dimensions),
                },
                stat: String(stat.Stat) as Statistic,
                periodSeconds: num(stat.Period, 'MetricStat.Period', name),
              }
            : undefined,
      };
    });
    const periods = new Set(queries.flatMap((q) => (q.metric ? [q.metric.periodSeconds] : [])));
    // [MATH-ALARM] "A math expression used for an alarm can include as many as 10 metrics. Each
    // metric must be using the same period." (CloudWatch user guide, "Alarms on Math Expressions")
    if (periods.size !== 1) throw new Error(`${name}: the metrics of a math alarm must share one period`);
    periodSeconds = [...periods][0];
    if (queries.filter((q) => q.returnData).length !== 1) {
      throw new Error(`${name}: exactly one query must return data (the alarm watches one time series)`);
    }
  } else {
    periodSeconds = num(p.Period, 'Period', name);
    queries = [
      {
        id: 'm1',
        returnData: true,
        metric: {
          key: {
            namespace: String(p.Namespace),
            metricName: String(p.MetricName),
            dimensions: dimensionsOf(p.Dimensions),
          },
          stat: String(p.Statistic) as Statistic,
          periodSeconds,
        },
      },
    ];
  }
  return {
    name,
    periodSeconds,
    evaluationPeriods,
    // [EVAL]: without Datapoints to Alarm, every evaluated period must breach ("N out of N").
    datapointsToAlarm:
      p.DatapointsToAlarm === undefined
        ? evaluationPeriods
        : num(p.DatapointsToAlarm, 'DatapointsToAlarm', name),
    threshold: num(p.Threshold, 'Threshold', name),
    comparison: String(p.ComparisonOperator) as ComparisonOperator,
    treatMissingData: (p.TreatMissingData as TreatMissingData | undefined) ?? 'missing',
    queries,
  };
}

/** The metric keys an alarm reads. */
export function metricsOf(alarm: AlarmDefinition): MetricKey[] {
  return alarm.queries.flatMap((q) => (q.metric ? [q.metric.key] : []));
}

function breaches(value: number, threshold: number, op: ComparisonOperator): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
  throw new Error(`comparison operator ${String(op)} is not modelled`);
}

/**
 * The state an alarm goes to, from the data points of its evaluation range (oldest first), by the
 * rules of [MISSING], "How alarm state is evaluated when data is missing".
 */
export function evaluateRange(
  range: readonly Classified[],
  settings: { evaluationPeriods: number; datapointsToAlarm: number; treatMissingData: TreatMissingData },
  current: AlarmState,
): AlarmState {
  const n = settings.evaluationPeriods;
  const m = settings.datapointsToAlarm;
  // [MISSING] "CloudWatch attempts to retrieve a higher number of data points than specified by
  // Evaluation Periods. … The timeframe of the data points that it attempts to retrieve is the
  // evaluation range."
  const existing = range.filter((p) => p !== '-');
  const verdict = (evaluated: readonly Classified[]): AlarmState =>
    // [MISSING] "In all of these situations, the number of datapoints evaluated is equal to the
    // value of Evaluation Periods. If fewer than the value of Datapoints to Alarm are breaching,
    // the alarm state is set to OK. Otherwise, the state is set to ALARM."
    evaluated.filter((p) => p === 'X').length < m ? 'OK' : 'ALARM';
  // [MISSING] "If no data points in the evaluation range are missing, CloudWatch evaluates the
  // alarm based on the most recent data points collected."
  // [MISSING] "If some data points in the evaluation range are missing, but the number of existing
  // data points retrieved is equal to or more than the alarm's Evaluation Periods, CloudWatch
  // evaluates the alarm state based on the most recent existing data points that were
  // successfully retrieved. In this case, the value you set for how to treat missing data is not
  // needed and is ignored."
  if (existing.length >= n) return verdict(existing.slice(existing.length - n));
  // [MISSING] "If some data points in the evaluation range are missing, and the number of
  // existing data points that were retrieved is lower than the alarm's number of evaluation
  // periods, CloudWatch fills in the missing data points with the result you specified for how to
  // treat missing data, and then evaluates the alarm. However, any real data points in the
  // evaluation range, no matter when they were reported, are included in the evaluation.
  // CloudWatch uses missing data points only as few times as possible."
  const fills = n - existing.length;
  switch (settings.treatMissingData) {
    // "breaching – Missing data points are treated as "bad" and breaching the threshold"
    case 'breaching':
      return verdict([...existing, ...Array<Classified>(fills).fill('X')]);
    // "notBreaching – Missing data points are treated as "good" and within the threshold"
    case 'notBreaching':
      return verdict([...existing, ...Array<Classified>(fills).fill('0')]);
    case 'missing':
    case 'ignore': {
      // Without a fill value only the real points are evaluated.
      if (existing.filter((p) => p === 'X').length >= m) return 'ALARM';
      if (existing.includes('0')) return 'OK';
      if (settings.treatMissingData === 'ignore') {
        // "ignore – The current alarm state is maintained"
        return current;
      }
      // [TABLE], sixth row: "the alarm goes to ALARM state even if missing data is treated as
      // missing, because the oldest evaluated data point is breaching and there aren't any
      // non-breaching data points." AWS knowledge center, "Why did my CloudWatch alarm send me a
      // notification after a single breached data point?": "This happens when the oldest
      // available breaching data point in the alarm's evaluation range is at least as old as the
      // value of Datapoints to Alarm, and all other more recent data points are breaching or
      // missing."
      const oldest = range.indexOf('X');
      if (oldest >= 0 && range.length - oldest >= m) return 'ALARM';
      // "missing – If all data points in the alarm evaluation range are missing, the alarm
      // transitions to INSUFFICIENT_DATA." (and [TABLE]: fewer breaching points than Datapoints
      // to Alarm and none good: Insufficient data)
      return 'INSUFFICIENT_DATA';
    }
  }
  throw new Error(`TreatMissingData ${String(settings.treatMissingData)} is not modelled`);
}

// ---------------------------------------------------------------------------------------------
// Metric math: the subset certflow's alarms use.

type Series = (number | undefined)[];
type Value = Series | number;

interface MathOptions {
  /**
   * Whether FILL of a series with no data at all in the range returns filled points (true) or
   * no points (false). The guide does not say; tests run both.
   */
  fillEmptySeries: boolean;
}

const tokenized = new Map<string, string[]>();

function tokenize(expression: string): string[] {
  const known = tokenized.get(expression);
  if (known) return known;
  const tokens = expression.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/(),])\s*/g);
  if (!tokens || tokens.join('').replace(/\s/g, '') !== expression.replace(/\s/g, '')) {
    throw new Error(`metric math "${expression}" is not modelled`);
  }
  const out = tokens.map((t) => t.trim());
  tokenized.set(expression, out);
  return out;
}

/**
 * Evaluate a metric math expression over the periods of the evaluation range. Supports numbers,
 * query ids, `FILL(series, number)`, unary minus, `+ - * /` and parentheses.
 */
export function evaluateExpression(
  expression: string,
  series: Readonly<Record<string, Series>>,
  length: number,
  options: MathOptions,
): Series {
  const tokens = tokenize(expression);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const t = tokens[i++];
    if (expected !== undefined && t !== expected)
      throw new Error(`metric math "${expression}": expected ${expected}`);
    return t;
  };
  const pointwise = (a: Value, b: Value, f: (x: number, y: number) => number): Value => {
    if (typeof a === 'number' && typeof b === 'number') return f(a, b);
    // A point missing in either operand is missing in the result (the model's reading; certflow
    // only combines series already FILLed, where no point is missing).
    return Array.from({ length }, (_, k) => {
      const x = typeof a === 'number' ? a : a[k];
      const y = typeof b === 'number' ? b : b[k];
      return x === undefined || y === undefined ? undefined : f(x, y);
    });
  };
  const primary = (): Value => {
    const t = take();
    if (t === '(') {
      const v = sum();
      take(')');
      return v;
    }
    if (t === '-') return pointwise(0, primary(), (x, y) => x - y);
    if (/^\d/.test(t)) return Number(t);
    if (t === 'FILL') {
      take('(');
      const s = sum();
      take(',');
      const filler = sum();
      take(')');
      if (typeof s === 'number' || typeof filler !== 'number') {
        throw new Error(`metric math "${expression}": only FILL(series, number) is modelled`);
      }
      // [FILL] "Fills the missing values of a time series." and "When you use this function in
      // an alarm, … FILL replaces that missing data point with the requested value."
      if (!options.fillEmptySeries && s.every((v) => v === undefined)) return s;
      return s.map((v) => (v === undefined ? filler : v));
    }
    if (/^[a-z]/.test(t) && peek() !== '(') {
      const s = series[t];
      if (!s) throw new Error(`metric math "${expression}": no query with id ${t}`);
      return s;
    }
    throw new Error(`metric math "${expression}": ${t} is not modelled`);
  };
  const product = (): Value => {
    let v = primary();
    while (peek() === '*' || peek() === '/') {
      const op = take();
      v = pointwise(v, primary(), op === '*' ? (x, y) => x * y : (x, y) => x / y);
    }
    return v;
  };
  const sum = (): Value => {
    let v = product();
    while (peek() === '+' || peek() === '-') {
      const op = take();
      v = pointwise(v, product(), op === '+' ? (x, y) => x + y : (x, y) => x - y);
    }
    return v;
  };
  const result = sum();
  if (i !== tokens.length) throw new Error(`metric math "${expression}": unexpected ${tokens[i]}`);
  if (typeof result === 'number')
    throw new Error(`metric math "${expression}" is a scalar, not a time series`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Metric data and the alarm over time.

/** A value published for a metric at a time (ms since the epoch). */
export interface Reading {
  at: number;
  value: number;
}

/** Published metric data, by metric. */
export class MetricData {
  private readonly byKey = new Map<string, Reading[]>();

  put(key: MetricKey, at: number, value: number): void {
    const k = metricKeyString(key);
    const list = this.byKey.get(k) ?? [];
    list.push({ at, value });
    this.byKey.set(k, list);
  }

  /** The readings of a metric, oldest first. */
  readings(key: MetricKey): Reading[] {
    return [...(this.byKey.get(metricKeyString(key)) ?? [])].sort((a, b) => a.at - b.at);
  }

  has(key: MetricKey): boolean {
    return this.byKey.has(metricKeyString(key));
  }
}

function aggregate(values: readonly number[], stat: Statistic): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SampleCount':
      return values.length;
  }
  throw new Error(`statistic ${String(stat)} is not modelled`);
}

/** The undocumented parts of evaluation, as parameters. */
export interface EvaluationOptions extends MathOptions {
  /**
   * How many periods the evaluation range holds. [MISSING]: "a higher number of data points than
   * specified by Evaluation Periods" (its example: 5 for 3); [WINDOW]: "The length of the window
   * is Period multiplied by Evaluation Periods". Tests run several values.
   */
  rangePeriods: number;
  /** How long after its timestamp a published value is visible to the alarm (ms). */
  visibleAfterMs: number;
}

/** An alarm's state at one evaluation. */
export interface StateAt {
  at: number;
  state: AlarmState;
}

const MINUTE_MS = 60_000;

/** The index of the first reading at or after `at` (readings sorted by time). */
function lowerBound(list: readonly Reading[], at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Replay `data` against `alarm` from `from` to `to` (ms), evaluating every minute, and return
 * the state after each evaluation. The alarm starts in INSUFFICIENT_DATA ([EVAL]: "The alarm has
 * just started").
 */
export function simulateAlarm(
  alarm: AlarmDefinition,
  data: MetricData,
  from: number,
  to: number,
  options: EvaluationOptions,
): StateAt[] {
  if (options.rangePeriods < alarm.evaluationPeriods) {
    throw new Error('the evaluation range holds at least Evaluation Periods periods');
  }
  const periodMs = alarm.periodSeconds * 1000;
  const readings = new Map(
    alarm.queries.flatMap((q) => (q.metric ? [[q.id, data.readings(q.metric.key)] as const] : [])),
  );
  const out: StateAt[] = [];
  let state: AlarmState = 'INSUFFICIENT_DATA';
  // [EVAL] "For any period of one minute or longer, an alarm is evaluated every minute and the
  // evaluation is based on the window of time defined by the Period and Evaluation Periods. For
  // example, if the Period is 5 minutes (300 seconds) and Evaluation Periods is 1, then at the end
  // of minute 5 the alarm evaluates based on data from minutes 1 to 5. Then at the end of minute
  // 6, the alarm evaluates based on data from minutes 2 to 6."
  // [WINDOW] "SlidingWindow – the default. The window advances each time the alarm is evaluated,
  // forming a rolling time window." (certflow's alarms set no EvaluationWindow.)
  //
  // The range's content changes only when a value becomes visible or crosses a period boundary;
  // between those minutes every evaluation sees the same points and, for every TreatMissingData
  // value, yields the state it yielded the minute before. So the minutes in between repeat the
  // previous state instead of being computed again (the same states).
  const changes = new Set<number>([from]);
  const onGrid = (x: number) => from + Math.ceil((x - from) / MINUTE_MS) * MINUTE_MS;
  for (const list of readings.values()) {
    for (const r of list) {
      changes.add(onGrid(r.at + options.visibleAfterMs));
      for (let k = 0; k <= options.rangePeriods; k++) changes.add(onGrid(r.at + k * periodMs));
    }
  }
  for (let t = from; t <= to; t += MINUTE_MS) {
    if (!changes.has(t)) {
      out.push({ at: t, state });
      continue;
    }
    const series: Record<string, Series> = {};
    for (const q of alarm.queries) {
      if (!q.metric) continue;
      const list = readings.get(q.id) ?? [];
      const s: Series = [];
      for (let k = options.rangePeriods - 1; k >= 0; k--) {
        const start = t - (k + 1) * periodMs;
        const end = t - k * periodMs;
        // Published after start, at or before end, and already visible at t.
        const last = Math.min(end, t - options.visibleAfterMs);
        const values: number[] = [];
        for (let j = lowerBound(list, start + 1); j < list.length && list[j].at <= last; j++) {
          values.push(list[j].value);
        }
        s.push(aggregate(values, q.metric.stat));
      }
      series[q.id] = s;
    }
    // Metrics first, then expressions in their order.
    for (const q of alarm.queries) {
      if (q.expression !== undefined) {
        series[q.id] = evaluateExpression(q.expression, series, options.rangePeriods, options);
      }
    }
    const watched = alarm.queries.find((q) => q.returnData);
    if (!watched) throw new Error(`${alarm.name}: no query returns data`);
    const points = series[watched.id];
    const range: Classified[] = points.map((v) =>
      v === undefined ? '-' : breaches(v, alarm.threshold, alarm.comparison) ? 'X' : '0',
    );
    state = evaluateRange(range, alarm, state);
    out.push({ at: t, state });
  }
  return out;
}

/** The distinct clock hours (UTC) in which the alarm was in ALARM at least once. */
export function alarmHours(states: readonly StateAt[]): number {
  return new Set(states.filter((s) => s.state === 'ALARM').map((s) => Math.floor(s.at / 3_600_000))).size;
}

/** The first time at or after `since` the alarm is in `state`, if any. */
export function firstIn(
  states: readonly StateAt[],
  state: AlarmState,
  since = -Infinity,
): number | undefined {
  return states.find((s) => s.at >= since && s.state === state)?.at;
}
