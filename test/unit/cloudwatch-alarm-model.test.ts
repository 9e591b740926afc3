/**
 * The CloudWatch alarm model (test/support/cloudwatch-alarm-model.ts) against the worked examples
 * of the CloudWatch user guide, "How alarm state is evaluated when data is missing"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html;
 * awsdocs/amazon-cloudwatch-user-guide doc_source/AlarmThatSendsEmail.md): every row of both
 * tables, every column. The guide: "In the data points column, 0 is a non-breaching data point, X
 * is a breaching data point, and - is a missing data point."
 */
import {
  type AlarmDefinition,
  type AlarmState,
  alarmFromProperties,
  type Classified,
  evaluateExpression,
  evaluateRange,
  MetricData,
  simulateAlarm,
  type TreatMissingData,
} from '../support/cloudwatch-alarm-model';

type Row = [
  points: string,
  missing: number,
  MISSING: string,
  IGNORE: string,
  BREACHING: string,
  NOT_BREACHING: string,
];

const RETAIN = 'Retain current state';
const columns: TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];
const parse = (points: string): Classified[] => points.split(' ') as Classified[];
const expected = (cell: string, current: AlarmState): AlarmState =>
  cell === RETAIN ? current : cell === 'Insufficient data' ? 'INSUFFICIENT_DATA' : (cell as AlarmState);

function checkTable(rows: Row[], evaluationPeriods: number, datapointsToAlarm: number): void {
  for (const [points, missing, ...cells] of rows) {
    const range = parse(points);
    // "CloudWatch retrieves the 5 most recent data points when evaluating the alarm. Column 2
    // shows how many of these 5 data points are missing"
    expect(range).toHaveLength(5);
    expect(range.filter((p) => p === '-')).toHaveLength(missing);
    columns.forEach((treatMissingData, c) => {
      // "Retain current state" holds whatever the state was: try each.
      for (const current of ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as AlarmState[]) {
        const got = evaluateRange(range, { evaluationPeriods, datapointsToAlarm, treatMissingData }, current);
        expect({ points, treatMissingData, current, state: got }).toEqual({
          points,
          treatMissingData,
          current,
          state: expected(cells[c], current),
        });
      }
    });
  }
}

describe('CloudWatch alarm model: the user guide’s examples of missing data evaluation', () => {
  it('first table: "Datapoints to Alarm and Evaluation Periods are both 3", every row and column', () => {
    checkTable(
      [
        ['0 - X - X', 2, 'OK', 'OK', 'OK', 'OK'],
        ['0 - - - -', 4, 'OK', 'OK', 'OK', 'OK'],
        ['- - - - -', 5, 'Insufficient data', RETAIN, 'ALARM', 'OK'],
        ['0 X X - X', 1, 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
        ['- - - - X', 4, 'Insufficient data', RETAIN, 'ALARM', 'OK'],
        ['X - - - -', 4, 'ALARM', RETAIN, 'ALARM', 'OK'],
      ],
      3,
      3,
    );
  });

  it('second table: "Datapoints to Alarm is only 2 while Evaluation Periods is 3", every row and column', () => {
    checkTable(
      [
        ['0 - X - X', 2, 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
        ['0 0 X 0 X', 0, 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
        ['0 - X - -', 3, 'OK', 'OK', 'ALARM', 'OK'],
        ['- - - - 0', 4, 'OK', 'OK', 'ALARM', 'OK'],
        ['- - - - X', 4, 'Insufficient data', RETAIN, 'ALARM', 'OK'],
      ],
      3,
      2,
    );
  });

  it('"The next time this alarm is evaluated, if the data is still missing it will go to ALARM, as that non-breaching data point will no longer be among the 5 most recent data points retrieved"', () => {
    const settings = { evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'breaching' as const };
    expect(evaluateRange(parse('0 - - - -'), settings, 'OK')).toBe('OK');
    expect(evaluateRange(parse('- - - - -'), settings, 'OK')).toBe('ALARM');
  });
});

describe('CloudWatch alarm model: sliding periods, statistics and metric math', () => {
  const HOUR = 3_600_000;
  const key = { namespace: 'ns', metricName: 'm', dimensions: { service: 'x' } };
  const options = { rangePeriods: 3, visibleAfterMs: 0, fillEmptySeries: true };

  it('"at the end of minute 5 the alarm evaluates based on data from minutes 1 to 5. Then at the end of minute 6 … minutes 2 to 6": the period slides with each evaluation', () => {
    // One breaching value at minute 0 (5-minute period, 1 of 1, missing not breaching): ALARM
    // while the last five minutes hold it; then, with the latest period empty, the range's most
    // recent existing point is still that value ("evaluates the alarm state based on the most
    // recent existing data points") until it leaves the range.
    const alarm = alarmFromProperties('a', {
      Namespace: 'ns',
      MetricName: 'm',
      Dimensions: [{ Name: 'service', Value: 'x' }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    const data = new MetricData();
    data.put(key, 0, 5);
    const minutesInAlarm = (rangePeriods: number) =>
      simulateAlarm(alarm, data, 0, 30 * 60_000, { ...options, rangePeriods })
        .filter((s) => s.state === 'ALARM')
        .map((s) => s.at / 60_000);
    expect(minutesInAlarm(1)).toEqual([0, 1, 2, 3, 4]);
    expect(minutesInAlarm(3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('the former expiry alarm (1 of 14 hourly periods, missing breaching) with two readings a day: ALARM although every reading is healthy', () => {
    const alarm: AlarmDefinition = alarmFromProperties('old', {
      Namespace: 'ns',
      MetricName: 'm',
      Dimensions: [{ Name: 'service', Value: 'x' }],
      Statistic: 'Minimum',
      Period: 3600,
      EvaluationPeriods: 14,
      DatapointsToAlarm: 1,
      Threshold: 0,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    const data = new MetricData();
    for (let h = 0; h < 72; h += 12) data.put(key, h * HOUR, 30);
    const states = simulateAlarm(alarm, data, 24 * HOUR, 72 * HOUR, { ...options, rangePeriods: 16 });
    expect(states.every((s) => s.state === 'ALARM')).toBe(true);
  });

  it('FILL replaces missing points with its value; + adds point by point; an empty series stays empty when so asked', () => {
    const series = { a: [undefined, 1, undefined], b: [2, undefined, undefined] };
    expect(evaluateExpression('FILL(a, 0) + FILL(b, 0)', series, 3, { fillEmptySeries: true })).toEqual([
      2, 1, 0,
    ]);
    expect(evaluateExpression('FILL(a, -1)', series, 3, { fillEmptySeries: true })).toEqual([-1, 1, -1]);
    const empty = { a: [undefined, undefined, undefined] };
    expect(evaluateExpression('FILL(a, -1)', empty, 3, { fillEmptySeries: false })).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(evaluateExpression('FILL(a, -1)', empty, 3, { fillEmptySeries: true })).toEqual([-1, -1, -1]);
    expect(() => evaluateExpression('RUNNING_SUM(a)', series, 3, { fillEmptySeries: true })).toThrow(
      /not modelled/,
    );
  });

  it('reads a math alarm’s queries from its properties: the metric’s period is the alarm’s, one query returns data', () => {
    const alarm = alarmFromProperties('math', {
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Metrics: [
        {
          Id: 'h',
          MetricStat: {
            Metric: { Namespace: 'ns', MetricName: 'm', Dimensions: [{ Name: 'service', Value: 'x' }] },
            Period: 50400,
            Stat: 'Minimum',
          },
          ReturnData: false,
        },
        { Id: 'e', Expression: 'FILL(h, -1)', ReturnData: true },
      ],
    });
    expect(alarm.periodSeconds).toBe(50400);
    expect(alarm.datapointsToAlarm).toBe(1);
    const data = new MetricData();
    data.put(key, 0, 3);
    const states = simulateAlarm(alarm, data, 0, 15 * HOUR, options);
    // the reading is within the last 14 hours until 14:00, then the filled -1 breaches
    expect(states.find((s) => s.state === 'ALARM')?.at).toBe(14 * HOUR);
    expect(states.filter((s) => s.at < 14 * HOUR).every((s) => s.state === 'OK')).toBe(true);
  });
});
