/**
 * How long the "no successful run" and expiry alarms wait: from the schedule, within CloudWatch's
 * evaluation range. In core so that the deployment rules (./config/deployment.ts), which
 * `certflow validate` runs too, refuse what the monitoring construct could not build.
 */
import type { CertflowConfig } from './config/schema';
import { ConfigError } from './errors';
import { longestScheduleGapHours, ScheduleGapError } from './schedule-gap';

/**
 * CloudWatch's longest alarm period times evaluation periods (7 days): PutMetricAlarm, "Period
 * multiplied by EvaluationPeriods can't be more than 604,800 seconds".
 */
export const MAX_EVALUATION_HOURS = 168;

/**
 * The hours an alarm waits for a successful run or an expiry reading: the configured
 * `noSuccessfulRun.afterHours`, else the schedule's longest gap plus its flexible window, rounded
 * up, plus one hour (a run may land anywhere in an hour bucket).
 */
export function monitoringWindowHours(config: CertflowConfig): number {
  const configured = config.monitoring.noSuccessfulRun.afterHours;
  let hours: number;
  if (configured !== undefined) {
    hours = configured;
  } else {
    let gap: number;
    try {
      gap = longestScheduleGapHours(config.schedule.expression);
    } catch (error) {
      const why = error instanceof ScheduleGapError ? error.message : String(error);
      throw new ConfigError([
        {
          path: 'monitoring.noSuccessfulRun.afterHours',
          message: `the schedule's longest gap cannot be computed (${why}); set afterHours to the hours between runs plus the flexible window`,
        },
      ]);
    }
    hours = Math.ceil(gap + config.schedule.flexibleWindowMinutes / 60) + 1;
  }
  if (hours > MAX_EVALUATION_HOURS) {
    throw new ConfigError([
      {
        path: configured !== undefined ? 'monitoring.noSuccessfulRun.afterHours' : 'schedule.expression',
        message: `the alarms would wait ${hours} hours, more than CloudWatch's ${MAX_EVALUATION_HOURS}-hour (7-day) evaluation range: run the schedule at least every ${MAX_EVALUATION_HOURS - 2} hours`,
      },
    ]);
  }
  return hours;
}
