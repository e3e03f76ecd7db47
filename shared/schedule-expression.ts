import { Cron } from 'croner';

/**
 * EventBridge Scheduler's recurring expressions, checked here as Scheduler checks them, so a bad one is
 * the caller's 400 instead of a failed call to AWS; and their next run, computed with croner (the local
 * scheduler fires with the same code). Only the schedule routes and the local scheduler import this
 * module: croner stays off the API's cold start.
 */

/** A recurring expression, parsed. */
export type ScheduleExpression =
  | {
      readonly kind: 'cron';
      /** As Scheduler takes it: `cron(` + the six fields, single-spaced + `)`. */
      readonly expression: string;
      /** The same schedule as a 7-part croner pattern (seconds first, Quartz weekdays, years). */
      readonly pattern: string;
    }
  | {
      readonly kind: 'rate';
      /** As Scheduler takes it, e.g. `rate(5 minutes)`. */
      readonly expression: string;
      readonly intervalMs: number;
    };

/** The parsed expression, or what is wrong with it in a sentence for the caller. */
export type ParseResult =
  | { readonly ok: true; readonly value: ScheduleExpression }
  | { readonly ok: false; readonly problem: string };

const RATE = /^rate\((\d{1,7}) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Parses `cron(...)` or `rate(...)`; one-time `at()` schedules are offload's own business (runAt), not callers'. */
export function parseScheduleExpression(text: string): ParseResult {
  const trimmed = text.trim();
  if (trimmed.startsWith('rate(')) return parseRate(trimmed);
  if (trimmed.startsWith('cron(') && trimmed.endsWith(')')) return parseCron(trimmed.slice(5, -1));
  return fail('must be cron(minutes hours day-of-month month day-of-week year) or rate(value unit)');
}

function parseRate(text: string): ParseResult {
  const match = RATE.exec(text);
  if (!match) {
    if (/^rate\(\s*\d+\s+seconds?\s*\)$/.test(text)) return fail('the shortest rate is 1 minute: rate(1 minute)');
    return fail('a rate is rate(value unit): a whole number and minute(s), hour(s) or day(s), e.g. rate(5 minutes)');
  }
  const value = Number(match[1]);
  const unit = (match[2] ?? '').replace(/s$/, '') as keyof typeof UNIT_MS;
  if (value < 1) return fail('the shortest rate is 1 minute: rate(1 minute)');
  // Scheduler, like EventBridge rules, wants `rate(1 minute)` but `rate(2 minutes)`.
  if ((value === 1) !== (match[2] === unit)) {
    return fail(`write rate(${value} ${value === 1 ? unit : `${unit}s`}): singular for 1, plural above`);
  }
  return { ok: true, value: { kind: 'rate', expression: text, intervalMs: value * UNIT_MS[unit] } };
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Scheduler numbers weekdays 1 (SUN) to 7 (SAT), as Quartz does. */
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS },
  { name: 'year', min: 1970, max: 2199 },
];
const [, , DAY_OF_MONTH, , DAY_OF_WEEK] = FIELDS as [FieldSpec, FieldSpec, FieldSpec, FieldSpec, FieldSpec, FieldSpec];

function parseCron(body: string): ParseResult {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    return fail(
      `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not ${parts.length}`,
    );
  }
  const [, , dom, , dow] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    return fail('exactly one of day-of-month and day-of-week must be ? (the other says which days)');
  }
  const translated: string[] = [];
  for (const [index, part] of parts.entries()) {
    const spec = FIELDS[index] as FieldSpec;
    const field = translateField(part.toUpperCase(), spec);
    if (typeof field === 'object') return fail(`${spec.name} "${part}": ${field.problem}`);
    translated.push(field);
  }
  const pattern = `0 ${translated.join(' ')}`;
  // Whatever the checks above missed, croner must accept it too, or the local scheduler could not run it.
  try {
    new Cron(pattern, cronOptions('UTC'));
  } catch (error) {
    return fail(`not a valid schedule (${(error as Error).message})`);
  }
  return { ok: true, value: { kind: 'cron', expression: `cron(${parts.join(' ')})`, pattern } };
}

/** One field in croner's syntax, or what is wrong with it. */
function translateField(field: string, spec: FieldSpec): string | { problem: string } {
  if (field === '?') {
    return spec === DAY_OF_MONTH || spec === DAY_OF_WEEK ? '*' : { problem: '? is only for the day fields' };
  }
  if (spec === DAY_OF_MONTH) {
    if (field === 'L' || field === 'LW') return field;
    const weekday = /^(\d{1,2})W$/.exec(field);
    if (weekday) return inRange(Number(weekday[1]), spec) ? field : { problem: `days are ${spec.min}-${spec.max}` };
  }
  if (spec === DAY_OF_WEEK) {
    // The last day of the week is Saturday; croner wants the number.
    if (field === 'L') return '7';
    const last = /^(\w{1,3})L$/.exec(field);
    if (last) {
      const day = value(last[1] ?? '', spec);
      return day === undefined ? { problem: 'nL takes a weekday, 1-7 or SUN-SAT' } : `${day}L`;
    }
    const nth = /^(\w{1,3})#(\d)$/.exec(field);
    if (nth) {
      const day = value(nth[1] ?? '', spec);
      const week = Number(nth[2]);
      if (day === undefined || week < 1 || week > 5) return { problem: 'n#k takes a weekday (1-7) and a week (1-5)' };
      return `${day}#${week}`;
    }
  }
  const items: string[] = [];
  for (const item of field.split(',')) {
    const translated = translateItem(item, spec);
    if (typeof translated === 'object') return translated;
    items.push(translated);
  }
  return items.join(',');
}

/** `*`, `*\/n`, `a`, `a-b`, `a/n` or `a-b/n` (names allowed for months and weekdays). */
function translateItem(item: string, spec: FieldSpec): string | { problem: string } {
  const match = /^(\*|\w+(?:-\w+)?)(?:\/(\d+))?$/.exec(item);
  if (!match) return { problem: `"${item}" is not a value, range, list or increment this field takes` };
  const [, base = '', stepText] = match;
  const step = stepText === undefined ? undefined : Number(stepText);
  if (step !== undefined && (step < 1 || step > spec.max)) return { problem: `increments are 1-${spec.max}` };
  const suffix = step === undefined ? '' : `/${step}`;
  if (base === '*') return `*${suffix}`;
  const [fromText = '', toText] = base.split('-');
  const from = value(fromText, spec);
  const to = toText === undefined ? undefined : value(toText, spec);
  if (from === undefined || (toText !== undefined && to === undefined)) {
    const names = spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : '';
    return { problem: `values are ${spec.min}-${spec.max}${names}` };
  }
  if (to !== undefined && to < from) return { problem: `the range ${base} runs backwards` };
  // croner steps only from `*` or a range: `a/n` means from a to the end.
  if (to === undefined) return step === undefined ? `${from}` : `${from}-${spec.max}${suffix}`;
  return `${from}-${to}${suffix}`;
}

function value(text: string, spec: FieldSpec): number | undefined {
  const named = spec.names?.indexOf(text) ?? -1;
  const number = named >= 0 ? named + spec.min : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return inRange(number, spec) ? number : undefined;
}

const inRange = (n: number, spec: FieldSpec): boolean => Number.isInteger(n) && n >= spec.min && n <= spec.max;

const fail = (problem: string): ParseResult => ({ ok: false, problem });

/**
 * The IANA name of a time zone Scheduler evaluates expressions in (spelled as IANA does, e.g.
 * `europe/berlin` → `Europe/Berlin`), or undefined when there is no such zone.
 */
export function canonicalTimeZone(name: string): string | undefined {
  // Names only: Intl also takes offsets ("+01:00"), which Scheduler does not.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    // ICU would also swap aliases for its own names (America/Argentina/Buenos_Aires → America/Buenos_Aires): only fix case.
    return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
  } catch {
    return undefined;
  }
}

export interface NextRunOptions {
  readonly timezone: string;
  /** No run before it (inclusive). */
  readonly startAt?: Date;
  /** No run at or after it. */
  readonly endAt?: Date;
  /**
   * When Scheduler was last given the timing (creation, or a change of it): a rate counts its intervals
   * from there, or from `startAt` if that is later.
   */
  readonly rateAnchor: Date;
}

/** The first run at or after `after`, or undefined when the schedule has none left. */
export function nextRun(schedule: ScheduleExpression, after: Date, options: NextRunOptions): Date | undefined {
  const from = new Date(Math.max(after.getTime(), options.startAt?.getTime() ?? 0));
  let next: Date | undefined;
  if (schedule.kind === 'rate') {
    // Scheduler counts from the start date, or from when it was last given the timing if that is later.
    const anchor = new Date(Math.max(options.startAt?.getTime() ?? 0, options.rateAnchor.getTime()));
    const behind = from.getTime() - anchor.getTime();
    const intervals = behind <= 0 ? 0 : Math.ceil(behind / schedule.intervalMs);
    next = new Date(anchor.getTime() + intervals * schedule.intervalMs);
  } else {
    // croner's nextRun is strictly after its argument: step back a millisecond to include `from` itself.
    next = new Cron(schedule.pattern, cronOptions(options.timezone)).nextRun(new Date(from.getTime() - 1)) ?? undefined;
  }
  if (!next || (options.endAt && next.getTime() >= options.endAt.getTime())) return undefined;
  return next;
}

/** croner, set up to read Scheduler's syntax: Quartz weekday numbers, a year field, day fields combined. */
function cronOptions(timezone: string) {
  return {
    timezone,
    alternativeWeekdays: true,
    mode: '7-part',
    // One day field is always `?` (a wildcard), so AND leaves the other one in charge.
    domAndDow: true,
    paused: true,
  } as const;
}
