/**
 * Every alarm certflow creates, evaluated as CloudWatch evaluates it, over 30 days of the default
 * schedule: the alarms of the synthesized stack (Template.fromStack on the real CertflowStack) and
 * the alarm FinalizeAndStore puts on ACM's DaysToExpiry (the PutMetricAlarm input it really
 * sends, through putStoreExpiryAlarms and the AcmExpiryAlarms adapter). The evaluation is
 * test/support/cloudwatch-alarm-model.ts, built from the CloudWatch user guide and tested against
 * its worked examples (test/unit/cloudwatch-alarm-model.test.ts).
 *
 * The world the alarms watch:
 * - Runs: EventBridge Scheduler fires `cron(17 3,15 * * ? *)` and, with a flexible window, "invokes
 *   the target within the time window" (EventBridge Scheduler user guide, "Configuring a
 *   flexible time window"): each run starts 0 to 59 minutes after 03:17 and 15:17 UTC. Two
 *   patterns: alternately at the start and at the end of the window (the longest gaps, 12 h 59
 *   min), and seeded random minutes.
 * - What a run publishes: SelectDue's expiry readings through the core's own `recordExpiry`
 *   (namespace `monitoring.namespace`, plus the `service` dimension every certflow metric
 *   carries), a minute after the start; the execution's end, 2 to 10 minutes after the start, as
 *   Step Functions' `ExecutionsSucceeded` or `ExecutionsFailed` (dimension StateMachineArn).
 * - ACM: `DaysToExpiry` of the imported certificate once each UTC day at a time of day ACM does
 *   not document: alternately just after midnight and just before the next midnight (readings
 *   47 h 58 min apart), or a seeded random minute.
 * - A value is visible to alarms 2 minutes after its timestamp.
 *
 * The undocumented parts of CloudWatch's evaluation are run with every value the model offers:
 * evaluation ranges of 1, 2 and 5 periods, and FILL of a series with no point at all giving
 * filled points or none.
 */
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { ACM_WINDOW_HOURS, AcmExpiryAlarms } from '../../lambdas/adapters/alarms/acm-expiry-alarms';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { JsonLogger } from '../../lambdas/core/logger';
import {
  alarmedCertificates,
  DIMENSION,
  expiryThresholdDays,
  METRIC,
  recordExpiry,
  SERVICE_DIMENSION,
} from '../../lambdas/core/metrics';
import type { IssuedCertificate } from '../../lambdas/core/ports';
import { longestScheduleGapHours } from '../../lambdas/core/schedule-gap';
import type { StepContext } from '../../lambdas/core/steps/context';
import { putStoreExpiryAlarms } from '../../lambdas/core/steps/finalize-and-store';
import { acmAlarmNamePrefix } from '../../lib/monitoring/monitoring';
import { EXAMPLE_CERTIFICATE_ARN } from '../fixtures/aws/acm';
import { putMetricAlarmResponse } from '../fixtures/aws/cloudwatch';
import {
  type AlarmDefinition,
  alarmFromProperties,
  alarmHours,
  type EvaluationOptions,
  firstIn,
  MetricData,
  type MetricKey,
  metricKeyString,
  metricsOf,
  type StateAt,
  simulateAlarm,
} from '../support/cloudwatch-alarm-model';
import { RecordingMetrics } from '../support/recording-metrics';
import { exampleConfig, type Synthesized, synth } from './synth';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The 30 measured days start here; runs (and ACM) report from three days before. */
const START = Date.UTC(2026, 2, 2);
const END = START + 30 * DAY;
const HISTORY_START = START - 3 * DAY;
const VISIBLE_AFTER = 2 * MINUTE;
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:my-topic';

type Role = 'expiry' | 'noSuccessfulRun' | 'failures' | 'acmExpiry';
type Ended = 'ExecutionsSucceeded' | 'ExecutionsFailed' | 'ExecutionsTimedOut' | 'ExecutionsAborted';

interface Run {
  start: number;
  /** SelectDue's expiry readings. */
  readingsAt: number;
  end: number;
}

interface Scenario {
  /** Headroom (days to expiry minus threshold) the run at `index` reports, for every certificate. */
  headroom: (index: number) => number;
  /** How the run at `index` ends (Step Functions' metric of that name). */
  ended: (index: number) => Ended;
  /** Runs with an index above this do not happen. */
  lastRun: number;
  acmDays: (day: number) => number;
  /** ACM reports on days up to this one (index from HISTORY_START). */
  lastAcmDay: number;
}

/** A seeded generator (mulberry32), so random patterns are the same on every run of the test. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pattern = 'window edges' | 'random';

/** The runs of the default schedule from HISTORY_START to END. */
function scheduleRuns(pattern: Pattern): Run[] {
  const rnd = random(7);
  const runs: Run[] = [];
  for (let day = HISTORY_START; day < END; day += DAY) {
    for (const hour of [3, 15]) {
      const i = runs.length;
      const offset = pattern === 'window edges' ? (i % 2 === 0 ? 0 : 59) : Math.floor(rnd() * 60);
      const duration = pattern === 'window edges' ? (i % 2 === 0 ? 2 : 10) : 2 + Math.floor(rnd() * 9);
      const start = day + hour * HOUR + 17 * MINUTE + offset * MINUTE;
      runs.push({ start, readingsAt: start + MINUTE, end: start + duration * MINUTE });
    }
  }
  return runs;
}

/** ACM's reading time on each day from HISTORY_START to END. */
function acmTimes(pattern: Pattern): number[] {
  const rnd = random(11);
  const out: number[] = [];
  for (let day = HISTORY_START, i = 0; day < END; day += DAY, i++) {
    const minute = pattern === 'window edges' ? (i % 2 === 0 ? 1 : 1438) : Math.floor(rnd() * 1440);
    out.push(day + minute * MINUTE);
  }
  return out;
}

interface World {
  config: CertflowConfig;
  stateMachineArn: unknown;
  acmArn: string;
}

/** Everything the alarms could read, for one scenario. */
function publish(
  world: World,
  scenario: Scenario,
  pattern: Pattern,
): { data: MetricData; runs: Run[]; acm: number[] } {
  const { config } = world;
  const data = new MetricData();
  const namespace = config.monitoring.namespace;
  const alarmed = new Set(
    alarmedCertificates(config.certificates, config.monitoring.daysToExpiry.perCertificateAlarms).map(
      (c) => c.name,
    ),
  );
  const runs = scheduleRuns(pattern).filter((_, i) => i <= scenario.lastRun);
  runs.forEach((run, i) => {
    const metrics = new RecordingMetrics();
    const threshold = 10;
    recordExpiry(
      metrics,
      config.certificates.map((c) => ({
        certificate: c.name,
        days: threshold + scenario.headroom(i),
        thresholdDays: threshold,
      })),
      alarmed,
    );
    for (const v of metrics.values) {
      data.put(
        { namespace, metricName: v.name, dimensions: { ...v.dimensions, ...SERVICE_DIMENSION } },
        run.readingsAt,
        v.value,
      );
    }
    data.put(stateMachineMetric(world, scenario.ended(i)), run.end, 1);
  });
  const acm = acmTimes(pattern).filter((_, day) => day <= scenario.lastAcmDay);
  acm.forEach((at, day) => {
    data.put(acmMetric(world), at, scenario.acmDays(day));
  });
  return { data, runs, acm };
}

const stateMachineMetric = (world: World, metricName: string): MetricKey => ({
  namespace: 'AWS/States',
  metricName,
  dimensions: { StateMachineArn: world.stateMachineArn },
});
const acmMetric = (world: World): MetricKey => ({
  namespace: 'AWS/CertificateManager',
  metricName: 'DaysToExpiry',
  dimensions: { CertificateArn: world.acmArn },
});

/** What an alarm is for, from the metrics it reads; an alarm on anything else fails the test. */
function roleOf(alarm: AlarmDefinition, world: World): Role {
  const reads = new Set(metricsOf(alarm).map(metricKeyString));
  const namespace = world.config.monitoring.namespace;
  const known = new Map<string, Role>();
  for (const c of world.config.certificates) {
    known.set(
      metricKeyString({
        namespace,
        metricName: METRIC.expiryHeadroom,
        dimensions: { [DIMENSION.certificate]: c.name, ...SERVICE_DIMENSION },
      }),
      'expiry',
    );
  }
  known.set(
    metricKeyString({ namespace, metricName: METRIC.expiryHeadroom, dimensions: { ...SERVICE_DIMENSION } }),
    'expiry',
  );
  known.set(metricKeyString(stateMachineMetric(world, 'ExecutionsSucceeded')), 'noSuccessfulRun');
  for (const m of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
    known.set(metricKeyString(stateMachineMetric(world, m)), 'failures');
  }
  known.set(metricKeyString(acmMetric(world)), 'acmExpiry');
  const roles = new Set<Role>();
  for (const r of reads) {
    const role = known.get(r);
    if (!role)
      throw new Error(`${alarm.name} reads ${r}, which this test does not publish: add it to the world`);
    roles.add(role);
  }
  if (roles.size !== 1)
    throw new Error(`${alarm.name}: reads metrics of several kinds (${[...roles].join(', ')})`);
  return [...roles][0];
}

/** The variants of what the CloudWatch documentation leaves open. */
const VARIANTS: EvaluationOptions[] = [1, 2, 5].flatMap((rangePeriods) =>
  [true, false].map((fillEmptySeries) => ({ rangePeriods, fillEmptySeries, visibleAfterMs: VISIBLE_AFTER })),
);
const PATTERNS: Pattern[] = ['window edges', 'random'];

const healthy: Scenario = {
  headroom: () => 20,
  ended: () => 'ExecutionsSucceeded',
  lastRun: Number.POSITIVE_INFINITY,
  acmDays: (day) => 70 - day,
  lastAcmDay: Number.POSITIVE_INFINITY,
};

/** The index of the run that starts on day `day` (from START) at 15:17 (the later run). */
const laterRunOn = (day: number) => (3 + day) * 2 + 1;

describe('every alarm, evaluated as CloudWatch does, over 30 days of the default schedule', () => {
  let s: Synthesized;
  let world: World;
  let alarms: { alarm: AlarmDefinition; role: Role }[];
  let windowHours: number;

  beforeAll(async () => {
    const config = exampleConfig();
    // The schedule this test replays is the example configuration's (the default).
    expect(config.schedule).toMatchObject({ expression: 'cron(17 3,15 * * ? *)', flexibleWindowMinutes: 60 });
    s = synth(config);
    windowHours = s.stack.certflow.monitoring.windowHours;
    world = {
      config,
      stateMachineArn: { Ref: s.id(s.stack.certflow.stateMachine) },
      acmArn: EXAMPLE_CERTIFICATE_ARN,
    };
    const stackAlarms = Object.entries(s.template.findResources('AWS::CloudWatch::Alarm')).map(([id, r]) =>
      alarmFromProperties(id, r.Properties as Record<string, unknown>),
    );

    // The alarm FinalizeAndStore puts for the example certificate's ACM copy (a 90-day certificate).
    const cw = mockClient(CloudWatchClient);
    cw.on(PutMetricAlarmCommand).resolves(putMetricAlarmResponse());
    const adapter = new AcmExpiryAlarms({
      client: new CloudWatchClient({ region: 'us-east-1' }),
      region: 'us-east-1',
      topicArn: TOPIC_ARN,
      namePrefix: acmAlarmNamePrefix('certflow'),
    });
    const ctx = {
      config,
      logger: new JsonLogger(() => undefined),
      expiryAlarms: () => adapter,
    } as unknown as StepContext;
    const issued = {
      metadata: {
        name: 'example',
        notBefore: '2026-01-01T00:00:00.000Z',
        notAfter: '2026-04-01T00:00:00.000Z',
      },
    } as unknown as IssuedCertificate;
    await putStoreExpiryAlarms(ctx, issued, [{ store: 'acm', location: EXAMPLE_CERTIFICATE_ARN }]);
    const calls = cw.commandCalls(PutMetricAlarmCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    const acmAlarm = alarmFromProperties(
      String(input.AlarmName),
      input as unknown as Record<string, unknown>,
    );
    expect(acmAlarm.threshold).toBe(expiryThresholdDays(issued.metadata));
    cw.restore();

    alarms = [...stackAlarms, acmAlarm].map((alarm) => ({ alarm, role: roleOf(alarm, world) }));
  });

  /** Replay a scenario against every alarm in every variant; `check` asserts each alarm's timeline. */
  function replay(
    scenario: Scenario,
    check: (
      alarm: AlarmDefinition,
      role: Role,
      states: StateAt[],
      what: { runs: Run[]; acm: number[] },
    ) => void,
  ): void {
    for (const pattern of PATTERNS) {
      const published = publish(world, scenario, pattern);
      for (const options of VARIANTS) {
        for (const { alarm, role } of alarms) {
          const states = simulateAlarm(alarm, published.data, START, END, options);
          try {
            check(alarm, role, states, published);
          } catch (error) {
            throw new Error(
              `${alarm.name} (${role}), runs at the ${pattern}, evaluation range ${options.rangePeriods} periods, FILL of an empty series ${options.fillEmptySeries ? 'filled' : 'empty'}: ${(error as Error).message}`,
            );
          }
        }
      }
    }
  }

  it('covers every alarm of the stack and the ACM alarm, each with a known job', () => {
    expect(alarms.map((a) => a.role).sort()).toEqual(
      [
        'acmExpiry',
        'expiry',
        'expiry',
        'expiry',
        'failures',
        'failures',
        'failures',
        'noSuccessfulRun',
      ].sort(),
    );
    // the window is the schedule's longest gap plus its flexible window, rounded up, plus an hour
    expect(windowHours).toBe(Math.ceil(longestScheduleGapHours('cron(17 3,15 * * ? *)') + 1) + 1);
  });

  it('healthy runs and a healthy ACM certificate: zero hours in ALARM, for every alarm', () => {
    replay(healthy, (_alarm, _role, states) => {
      expect(alarmHours(states)).toBe(0);
      // and OK, not INSUFFICIENT_DATA, all along
      expect(states.every((s) => s.state === 'OK')).toBe(true);
    });
  });

  it('one breaching expiry reading: the expiry alarms go to ALARM within the hour and back to OK once the window has only healthy readings; the others stay OK', () => {
    const bad = laterRunOn(10);
    replay({ ...healthy, headroom: (i) => (i === bad ? -0.5 : 20) }, (_alarm, role, states, { runs }) => {
      if (role !== 'expiry') {
        expect(alarmHours(states)).toBe(0);
        return;
      }
      const at = runs[bad].readingsAt;
      const alarmed = firstIn(states, 'ALARM');
      expect(alarmed).toBeGreaterThanOrEqual(at);
      expect(alarmed).toBeLessThanOrEqual(at + HOUR);
      const ok = firstIn(states, 'OK', alarmed);
      expect(ok).toBeLessThanOrEqual(at + windowHours * HOUR + MINUTE);
      expect(states.filter((s) => s.at >= (ok ?? 0) && s.state === 'ALARM').length).toBe(0);
    });
  });

  it.each(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'] as const)(
    'one run ends with %s: its alarm goes to ALARM within the hour; NoSuccessfulRun only once no run succeeded for the whole window; the others stay OK',
    (how) => {
      const failed = laterRunOn(10);
      replay(
        { ...healthy, ended: (i) => (i === failed ? how : 'ExecutionsSucceeded') },
        (alarm, role, states, { runs }) => {
          const end = runs[failed].end;
          if (role === 'failures' && metricsOf(alarm)[0].metricName === how) {
            const alarmed = firstIn(states, 'ALARM');
            expect(alarmed).toBeGreaterThanOrEqual(end);
            expect(alarmed).toBeLessThanOrEqual(end + HOUR);
            // and OK again once the failure has left the evaluation range
            expect(firstIn(states, 'OK', alarmed)).toBeLessThanOrEqual(end + HOUR);
            return;
          }
          if (role === 'noSuccessfulRun') {
            // the successes around the failed run are more than the window apart (about 24 hours):
            // ALARM exactly when the window since the last success has passed, OK at the next one
            const lastSuccess = runs[failed - 1].end;
            const nextSuccess = runs[failed + 1].end;
            expect(nextSuccess - lastSuccess).toBeGreaterThan(windowHours * HOUR);
            expect(firstIn(states, 'ALARM')).toBeGreaterThan(lastSuccess + (windowHours - 1) * HOUR);
            expect(firstIn(states, 'ALARM')).toBeLessThanOrEqual(lastSuccess + windowHours * HOUR + MINUTE);
            expect(firstIn(states, 'OK', lastSuccess + windowHours * HOUR)).toBeLessThanOrEqual(
              nextSuccess + VISIBLE_AFTER,
            );
            return;
          }
          expect(alarmHours(states)).toBe(0);
        },
      );
    },
  );

  it('one ACM reading under the threshold: the ACM alarm goes to ALARM within the hour; the others stay OK', () => {
    const badDay = 13;
    replay(
      { ...healthy, acmDays: (day) => (day === badDay ? 5 : 70 - day) },
      (_alarm, role, states, { acm }) => {
        if (role !== 'acmExpiry') {
          expect(alarmHours(states)).toBe(0);
          return;
        }
        expect(firstIn(states, 'ALARM')).toBeGreaterThanOrEqual(acm[badDay]);
        expect(firstIn(states, 'ALARM')).toBeLessThanOrEqual(acm[badDay] + HOUR);
      },
    );
  });

  it('runs stopped and ACM stopped reporting: the expiry, no-successful-run and ACM alarms are in ALARM by the end of their window and stay there; the failure alarm stays OK (nothing failed)', () => {
    const lastRun = laterRunOn(10);
    const lastAcmDay = 13;
    replay({ ...healthy, lastRun, lastAcmDay }, (_alarm, role, states, { runs, acm }) => {
      if (role === 'failures') {
        expect(alarmHours(states)).toBe(0);
        return;
      }
      const last =
        role === 'acmExpiry'
          ? acm[lastAcmDay]
          : role === 'expiry'
            ? runs[lastRun].readingsAt
            : runs[lastRun].end;
      const window = (role === 'acmExpiry' ? ACM_WINDOW_HOURS : windowHours) * HOUR;
      const first = firstIn(states, 'ALARM');
      // not before the longest gap a healthy schedule has (12 h 59 min for runs, 47 h 58 min for ACM)…
      expect(first).toBeGreaterThan(last + window - 2 * HOUR);
      // …and by the end of the window, then for good
      expect(first).toBeLessThanOrEqual(last + window + MINUTE);
      expect(states.filter((s) => s.at >= (first ?? 0) && s.state !== 'ALARM').length).toBe(0);
    });
  });
});
