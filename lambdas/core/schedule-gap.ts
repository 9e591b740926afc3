/**
 * The longest time between two consecutive runs of an EventBridge Scheduler expression, which the
 * "no successful run" alarm waits (plus the flexible window) before it fires. `rate(n unit)` is
 * exact; `cron(min hour day-of-month month day-of-week year)` (UTC, the schedule has no time zone)
 * is evaluated over four whole years (2025-2028, a leap year included), which holds every
 * combination of weekday, month length and year a recurring schedule can have.
 */

const MINUTE_MS = 60_000;
const HORIZON = { from: Date.UTC(2025, 0, 1), to: Date.UTC(2029, 0, 1) };

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** EventBridge day-of-week: 1-7 = SUN-SAT. */
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Why a schedule's gap cannot be computed (the caller asks for `afterHours` instead). */
export class ScheduleGapError extends Error {}

/** A set of allowed values for one numeric cron field (`*`, `?`, lists, ranges, steps, names). */
function fieldValues(
  field: string,
  min: number,
  max: number,
  names: string[] = [],
  nameBase = min,
): Set<number> {
  const out = new Set<number>();
  const value = (text: string): number => {
    const i = names.indexOf(text.toUpperCase());
    const n = i >= 0 ? i + nameBase : Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new ScheduleGapError(`"${text}" is out of range`);
    return n;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ScheduleGapError(`bad step in "${part}"`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      from = value(a);
      to = value(b);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/** Whether a day matches the day-of-month and day-of-week fields (`L`, `nL` and `n#k` included). */
function dayMatcher(dom: string, dow: string): (date: Date) => boolean {
  if (/W/i.test(dom)) throw new ScheduleGapError(`"${dom}": the W (nearest weekday) form is not evaluated`);
  const lastDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  let domMatch: (d: Date) => boolean;
  if (dom === '?' || dom === '*') domMatch = () => true;
  else if (/^L$/i.test(dom)) domMatch = (d) => d.getUTCDate() === lastDay(d);
  else {
    const days = fieldValues(dom, 1, 31);
    domMatch = (d) => days.has(d.getUTCDate());
  }
  let dowMatch: (d: Date) => boolean;
  const nth = /^([1-7A-Za-z]+)#([1-5])$/.exec(dow);
  const last = /^([1-7A-Za-z]+)L$/i.exec(dow);
  if (dow === '?' || dow === '*') dowMatch = () => true;
  else if (nth) {
    const wd = [...fieldValues(nth[1], 1, 7, DAYS, 1)][0] - 1;
    const k = Number(nth[2]);
    dowMatch = (d) => d.getUTCDay() === wd && Math.ceil(d.getUTCDate() / 7) === k;
  } else if (last || /^L$/i.test(dow)) {
    const wd = last ? [...fieldValues(last[1], 1, 7, DAYS, 1)][0] - 1 : 6;
    dowMatch = (d) => d.getUTCDay() === wd && d.getUTCDate() + 7 > lastDay(d);
  } else {
    const days = fieldValues(dow, 1, 7, DAYS, 1);
    dowMatch = (d) => days.has(d.getUTCDay() + 1);
  }
  return (d) => domMatch(d) && dowMatch(d);
}

/** The longest gap between consecutive firings of a `cron(...)` expression, in milliseconds. */
function cronGapMs(fields: string[]): number {
  const [min, hour, dom, month, dow, year] = fields;
  const minutes = [...fieldValues(min, 0, 59)].sort((a, b) => a - b);
  const hours = [...fieldValues(hour, 0, 23)].sort((a, b) => a - b);
  const months = fieldValues(month, 1, 12, MONTHS, 1);
  const years = fieldValues(year, 1970, 2199);
  const dayMatches = dayMatcher(dom, dow);
  let previous: number | undefined;
  let longest = 0;
  let firings = 0;
  for (let day = HORIZON.from; day < HORIZON.to; day += 1440 * MINUTE_MS) {
    const date = new Date(day);
    if (!years.has(date.getUTCFullYear()) || !months.has(date.getUTCMonth() + 1) || !dayMatches(date))
      continue;
    for (const h of hours) {
      for (const m of minutes) {
        const at = day + (h * 60 + m) * MINUTE_MS;
        if (previous !== undefined) longest = Math.max(longest, at - previous);
        previous = at;
        firings += 1;
      }
    }
  }
  if (firings < 2) throw new ScheduleGapError('it does not fire repeatedly in 2025-2028');
  return longest;
}

const RATE = /^rate\((\d+) (minutes?|hours?|days?)\)$/;
const UNIT_MS: Record<string, number> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 1440 * MINUTE_MS };

/**
 * The longest gap between consecutive runs of `expression`, in hours (fractional).
 * @throws ScheduleGapError when the expression cannot be evaluated (then set `afterHours`).
 */
export function longestScheduleGapHours(expression: string): number {
  const rate = RATE.exec(expression);
  if (rate) return (Number(rate[1]) * UNIT_MS[rate[2].replace(/s$/, '')]) / (60 * MINUTE_MS);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) throw new ScheduleGapError(`"${expression}" is neither rate() nor cron()`);
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) throw new ScheduleGapError(`"${expression}" does not have six fields`);
  try {
    return cronGapMs(fields) / (60 * MINUTE_MS);
  } catch (error) {
    if (error instanceof ScheduleGapError) {
      throw new ScheduleGapError(`"${expression}": ${error.message}`);
    }
    throw error;
  }
}
