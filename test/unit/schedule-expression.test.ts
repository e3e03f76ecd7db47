import { describe, expect, it } from 'vitest';
import { atExpression } from '../../functions/api/run-at.js';
import {
  canonicalTimeZone,
  nextRun,
  parseScheduleExpression,
  type ScheduleExpression,
} from '../../shared/schedule-expression.js';

const parsed = (text: string): ScheduleExpression => {
  const result = parseScheduleExpression(text);
  if (!result.ok) throw new Error(`${text}: ${result.problem}`);
  return result.value;
};

const problemOf = (text: string): string => {
  const result = parseScheduleExpression(text);
  if (result.ok) throw new Error(`${text} was accepted`);
  return result.problem;
};

const NOW = new Date('2026-03-01T00:00:00Z');
const options = { timezone: 'UTC', rateAnchor: NOW };

/** The first `n` runs from `after`, each searched from just after the one before. */
function runs(text: string, n: number, extra: Partial<typeof options> & { startAt?: Date; endAt?: Date } = {}) {
  const schedule = parsed(text);
  const found: string[] = [];
  let after = NOW;
  for (let i = 0; i < n; i++) {
    const next = nextRun(schedule, after, { ...options, ...extra });
    if (!next) break;
    found.push(next.toISOString());
    after = new Date(next.getTime() + 1);
  }
  return found;
}

describe('parseScheduleExpression', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 days)', 172_800_000],
  ])('takes %s as an interval of %i ms', (text, intervalMs) => {
    expect(parsed(text)).toEqual({ kind: 'rate', expression: text, intervalMs });
  });

  it.each([
    ['rate(30 seconds)', 'the shortest rate is 1 minute'],
    ['rate(0 minutes)', 'the shortest rate is 1 minute'],
    ['rate(1 minutes)', 'write rate(1 minute)'],
    ['rate(2 hour)', 'write rate(2 hours)'],
    ['rate(1.5 hours)', 'a rate is rate(value unit)'],
    ['rate(5 weeks)', 'a rate is rate(value unit)'],
    ['every 5 minutes', 'must be cron('],
    ['at(2030-01-01T00:00:00)', 'must be cron('],
  ])('refuses %s: %s', (text, problem) => {
    expect(problemOf(text)).toContain(problem);
  });

  it.each([
    ['cron(0 2 * * ? *)', '0 0 2 * * * *'],
    ['cron(15 10 ? * MON-FRI *)', '0 15 10 * * 2-6 *'],
    ['cron(0/15 * * * ? *)', '0 0-59/15 * * * * *'],
    ['cron(0 8 L * ? *)', '0 0 8 L * * *'],
    ['cron(0 8 15W * ? *)', '0 0 8 15W * * *'],
    ['cron(0 8 ? * 6L *)', '0 0 8 * * 6L *'],
    ['cron(0 8 ? * FRI#2 2027-2030)', '0 0 8 * * 6#2 2027-2030'],
    ['cron(0 8 ? * L *)', '0 0 8 * * 7 *'],
    ['cron(0 8 1,15 jan,jul ? *)', '0 0 8 1,15 1,7 * *'],
  ])('translates %s into the croner pattern %s', (text, pattern) => {
    expect(parsed(text)).toMatchObject({ kind: 'cron', pattern });
  });

  it('normalises the spacing of a cron expression to what Scheduler takes', () => {
    expect(parsed('cron( 0  2 * * ? * )').expression).toBe('cron(0 2 * * ? *)');
  });

  it.each([
    ['cron(0 2 * * *)', 'has 6 fields'],
    ['cron(0 2 * * * *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 2 ? * ? *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(60 2 * * ? *)', 'minutes "60"'],
    ['cron(0 24 * * ? *)', 'hours "24"'],
    ['cron(0 2 32 * ? *)', 'day-of-month "32"'],
    ['cron(0 2 * 13 ? *)', 'month "13"'],
    ['cron(0 2 ? * 8 *)', 'day-of-week "8"'],
    ['cron(0 2 ? * 0 *)', 'day-of-week "0"'],
    ['cron(0 2 ? * 2#6 *)', 'n#k takes a weekday'],
    ['cron(0 2 * * ? 1969)', 'year "1969"'],
    ['cron(0 2 * * ? 2200)', 'year "2200"'],
    ['cron(? 2 * * ? *)', '? is only for the day fields'],
    ['cron(10-5 2 * * ? *)', 'runs backwards'],
    ['cron(0/0 2 * * ? *)', 'increments are'],
    ['cron(0 2 * * ? * *)', 'has 6 fields'],
  ])('refuses %s (%s)', (text, problem) => {
    expect(problemOf(text)).toContain(problem);
  });
});

describe('canonicalTimeZone', () => {
  it.each([
    ['UTC', 'UTC'],
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['America/Argentina/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
    ['Etc/GMT+1', 'Etc/GMT+1'],
  ])('knows %s as %s', (name, canonical) => {
    expect(canonicalTimeZone(name)).toBe(canonical);
  });

  it.each(['Mars/Olympus_Mons', 'Europe/Berlin ', '+01:00', '', 'CET; drop table'])('refuses %j', (name) => {
    expect(canonicalTimeZone(name)).toBeUndefined();
  });
});

describe('nextRun', () => {
  it('runs a nightly cron at 02:00 in its time zone, across the change to summer time', () => {
    expect(runs('cron(0 2 * * ? *)', 3, { timezone: 'Europe/Berlin' }).slice(0, 1)).toEqual([
      '2026-03-01T01:00:00.000Z',
    ]);
    const schedule = parsed('cron(0 2 * * ? *)');
    const afterChange = nextRun(schedule, new Date('2026-03-30T00:00:00Z'), { ...options, timezone: 'Europe/Berlin' });
    expect(afterChange?.toISOString()).toBe('2026-03-30T00:00:00.000Z');
  });

  it('runs weekday crons on Scheduler weekdays (1 = Sunday)', () => {
    // 2026-03-01 is a Sunday.
    expect(runs('cron(0 9 ? * 2 *)', 2)).toEqual(['2026-03-02T09:00:00.000Z', '2026-03-09T09:00:00.000Z']);
    expect(runs('cron(0 9 ? * 1 *)', 1)).toEqual(['2026-03-01T09:00:00.000Z']);
  });

  it('respects the year field: none left after the last year', () => {
    expect(runs('cron(0 9 1 1 ? 2027)', 3)).toEqual(['2027-01-01T09:00:00.000Z']);
    expect(runs('cron(0 9 1 1 ? 2025)', 1)).toEqual([]);
  });

  it('counts a rate from its anchor: the first run is the anchor itself', () => {
    expect(runs('rate(5 minutes)', 3)).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-01T00:05:00.000Z',
      '2026-03-01T00:10:00.000Z',
    ]);
    const schedule = parsed('rate(1 hour)');
    const later = nextRun(schedule, new Date('2026-03-01T05:30:00Z'), options);
    expect(later?.toISOString()).toBe('2026-03-01T06:00:00.000Z');
  });

  it('starts no earlier than startAt and counts a rate from it', () => {
    const startAt = new Date('2026-03-02T12:34:00Z');
    expect(runs('rate(1 day)', 2, { startAt })).toEqual(['2026-03-02T12:34:00.000Z', '2026-03-03T12:34:00.000Z']);
    expect(runs('cron(0 9 * * ? *)', 1, { startAt })).toEqual(['2026-03-03T09:00:00.000Z']);
  });

  it('stops before endAt', () => {
    const endAt = new Date('2026-03-01T00:10:00Z');
    expect(runs('rate(5 minutes)', 5, { endAt })).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-01T00:05:00.000Z']);
  });
});

describe('atExpression', () => {
  it.each([
    ['2030-01-02T03:04:05.000Z', 'at(2030-01-02T03:04:05)'],
    ['2030-01-02T03:04:05.001Z', 'at(2030-01-02T03:04:06)'],
  ])('puts %s into a one-time expression in UTC, never early: %s', (iso, expression) => {
    expect(atExpression(new Date(iso))).toBe(expression);
  });
});
