import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Cron } from 'croner';
import { canonicalTimeZone, nextRun, parseScheduleExpression } from '../../shared/schedule-expression.js';

/**
 * EventBridge Scheduler for the local stack, in this process: the Scheduler API that offload's adapter
 * calls (CreateSchedule, UpdateSchedule, DeleteSchedule, GetSchedule over REST JSON, as the real SDK
 * client sends them), and the firing itself, on croner's clock: cron, rate and one-time `at()`
 * expressions in their time zones, start and end dates, the scheduled time in the target's input, a
 * one-time schedule deleting itself after it fired. Schedules persist in `DIR/scheduler.json` with
 * `--data-dir`, as they outlive a restart in AWS. What it leaves out: flexible windows, KMS keys, and the
 * 60-second jitter (it fires on the second).
 */
export interface SchedulerEmulatorOptions {
  /** Keep the schedules in this folder. @default in memory */
  readonly dataDir?: string;
  /** How long a minute of a `rate()` expression lasts here; tests shorten it. @default 60,000 */
  readonly rateMinuteMs?: number;
  /**
   * Invokes a target (the fire function) with its input, as Scheduler invokes a Lambda: asynchronously,
   * so a failure is retried twice (Lambda's async retries) before the firing counts as failed.
   */
  readonly invoke: (targetArn: string, event: unknown) => Promise<unknown>;
  /** A firing that failed every try: in AWS, it lands on the dead-letter queue (and its alarm fires). */
  readonly onFailedFiring?: (schedule: string, error: unknown) => void;
}

export interface SchedulerEmulator {
  readonly endpoint: string;
  /** The schedules as stored, for tests: name → expression and state. */
  schedules(): ReadonlyArray<{ readonly name: string; readonly expression: string; readonly state: string }>;
  stop(): Promise<void>;
}

/** One schedule as CreateSchedule took it (dates as epoch ms). */
interface StoredSchedule {
  readonly Name: string;
  readonly GroupName: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone: string;
  readonly StartDate?: number;
  readonly EndDate?: number;
  readonly State: string;
  readonly ActionAfterCompletion?: string;
  readonly FlexibleTimeWindow?: unknown;
  readonly Target: { readonly Arn: string; readonly RoleArn: string; readonly Input?: string } & Record<
    string,
    unknown
  >;
  readonly CreationDate: number;
  readonly LastModificationDate: number;
}

class SchedulerError extends Error {
  constructor(
    readonly type: 'ConflictException' | 'ResourceNotFoundException' | 'ValidationException',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The schedule group, fire function, role and dead-letter queue the local stack tells the API about. */
export const LOCAL_SCHEDULER = {
  groupName: 'offload-local',
  targetArn: 'arn:aws:lambda:us-east-1:000000000000:function:offload-schedule-fire',
  roleArn: 'arn:aws:iam::000000000000:role/offload-scheduler',
  deadLetterQueueArn: 'arn:aws:sqs:us-east-1:000000000000:offload-schedule-firings-dlq',
};

/** setTimeout's longest wait; a later firing re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const AT = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/;

export async function startSchedulerEmulator(options: SchedulerEmulatorOptions): Promise<SchedulerEmulator> {
  const file = options.dataDir ? join(options.dataDir, 'scheduler.json') : undefined;
  const rateMinuteMs = options.rateMinuteMs ?? 60_000;
  const stored = new Map<string, StoredSchedule>();
  const timers = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const keyOf = (group: string, name: string) => `${group}/${name}`;

  const save = () => {
    if (!file) return;
    mkdirSync(options.dataDir ?? '.', { recursive: true });
    // Written whole and renamed, so a kill mid-write leaves the previous file.
    writeFileSync(`${file}.tmp`, JSON.stringify([...stored.values()], null, 1));
    renameSync(`${file}.tmp`, file);
  };

  /** The next firing at or after `from` (epoch ms), or undefined when there is none left. */
  const nextFiring = (schedule: StoredSchedule, from: number): number | undefined => {
    if (schedule.State !== 'ENABLED') return undefined;
    const at = AT.exec(schedule.ScheduleExpression);
    if (at) {
      // A one-time schedule missed while the stack was down fires at once, as a late delivery would.
      return new Cron(at[1] ?? '', { timezone: schedule.ScheduleExpressionTimezone, paused: true })
        .nextRun(new Date(0))
        ?.getTime();
    }
    const parsed = parseScheduleExpression(schedule.ScheduleExpression);
    if (!parsed.ok) return undefined;
    const expression =
      parsed.value.kind === 'rate'
        ? { ...parsed.value, intervalMs: (parsed.value.intervalMs / 60_000) * rateMinuteMs }
        : parsed.value;
    return nextRun(expression, new Date(from), {
      timezone: schedule.ScheduleExpressionTimezone,
      startAt: schedule.StartDate === undefined ? undefined : new Date(schedule.StartDate),
      endAt: schedule.EndDate === undefined ? undefined : new Date(schedule.EndDate),
      rateAnchor: new Date(schedule.LastModificationDate),
    })?.getTime();
  };

  const disarm = (key: string) => {
    clearTimeout(timers.get(key));
    timers.delete(key);
  };

  const arm = (key: string, from: number) => {
    disarm(key);
    const schedule = stored.get(key);
    const due = schedule && nextFiring(schedule, from);
    if (stopped || !schedule || due === undefined) return;
    const timer = setTimeout(
      () => {
        timers.delete(key);
        if (Date.now() < due) arm(key, due);
        else fire(key, schedule, due);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, due - Date.now())),
    );
    timer.unref();
    timers.set(key, timer);
  };

  const fire = (key: string, schedule: StoredSchedule, due: number) => {
    const oneTime = AT.test(schedule.ScheduleExpression);
    if (oneTime && schedule.ActionAfterCompletion === 'DELETE') {
      stored.delete(key);
      save();
    } else if (!oneTime) {
      arm(key, due + 1);
    }
    const scheduledTime = new Date(due).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const input = (schedule.Target.Input ?? '{}')
      .replaceAll('<aws.scheduler.scheduled-time>', scheduledTime)
      .replaceAll('<aws.scheduler.schedule-arn>', scheduleArn(schedule.GroupName, schedule.Name))
      .replaceAll('<aws.scheduler.execution-id>', randomUUID())
      .replaceAll('<aws.scheduler.attempt-number>', '1');
    const run = (async () => {
      let lastError: unknown;
      for (let attempt = 0; attempt < 3 && !stopped; attempt++) {
        try {
          await options.invoke(schedule.Target.Arn, JSON.parse(input));
          return;
        } catch (error) {
          lastError = error;
        }
      }
      if (!stopped) options.onFailedFiring?.(schedule.Name, lastError);
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  const handle = async (method: string, name: string, query: URLSearchParams, body: Record<string, unknown>) => {
    const group = String(
      (method === 'POST' || method === 'PUT' ? body.GroupName : query.get('groupName')) ?? 'default',
    );
    const key = keyOf(group, name);
    const existing = stored.get(key);
    if (method === 'GET' || method === 'DELETE') {
      if (!existing) throw new SchedulerError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
      if (method === 'GET') return describe(existing);
      stored.delete(key);
      disarm(key);
      save();
      return {};
    }
    if (method === 'POST' && existing) {
      throw new SchedulerError('ConflictException', 409, `Schedule ${name} already exists.`);
    }
    if (method === 'PUT' && !existing) {
      throw new SchedulerError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
    }
    const now = Date.now();
    const schedule = validated(name, group, body, existing?.CreationDate ?? now, now);
    stored.set(key, schedule);
    save();
    arm(key, now);
    return { ScheduleArn: scheduleArn(group, name) };
  };

  if (file) {
    let saved: StoredSchedule[] = [];
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as StoredSchedule[];
    } catch {
      // No file yet: a fresh data dir.
    }
    for (const schedule of saved) stored.set(keyOf(schedule.GroupName, schedule.Name), schedule);
  }

  const server = createServer((request, response) => {
    void serve(request, response, handle);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // Armed once listening: a schedule missed while the stack was down may fire at once.
  for (const key of stored.keys()) arm(key, Date.now());

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    schedules: () =>
      [...stored.values()].map((s) => ({ name: s.Name, expression: s.ScheduleExpression, state: s.State })),
    async stop() {
      stopped = true;
      for (const key of [...timers.keys()]) disarm(key);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
    },
  };
}

type Handle = (
  method: string,
  name: string,
  query: URLSearchParams,
  body: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

async function serve(request: IncomingMessage, response: ServerResponse, handle: Handle): Promise<void> {
  try {
    const url = new URL(request.url ?? '/', 'http://local');
    const match = /^\/schedules\/([^/]+)$/.exec(url.pathname);
    const method = request.method ?? 'GET';
    if (!match || !['GET', 'POST', 'PUT', 'DELETE'].includes(method)) {
      throw new SchedulerError('ValidationException', 400, `${method} ${url.pathname} is not emulated.`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const result = await handle(method, decodeURIComponent(match[1] ?? ''), url.searchParams, body);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(result));
  } catch (error) {
    const known = error instanceof SchedulerError;
    response.writeHead(known ? error.status : 500, {
      'content-type': 'application/json',
      'x-amzn-errortype': known ? error.type : 'InternalServerException',
    });
    response.end(JSON.stringify({ Message: (error as Error).message }));
  }
}

/** The schedule as Scheduler would accept it, or the ValidationException it would answer. */
function validated(
  name: string,
  group: string,
  body: Record<string, unknown>,
  created: number,
  now: number,
): StoredSchedule {
  const invalid = (message: string) => new SchedulerError('ValidationException', 400, message);
  if (!/^[0-9a-zA-Z._-]{1,64}$/.test(name)) throw invalid(`Invalid schedule name ${name}.`);
  const expression = String(body.ScheduleExpression ?? '');
  if (!AT.test(expression) && !parseScheduleExpression(expression).ok) {
    throw invalid(`Invalid Schedule Expression ${expression}.`);
  }
  const timezone = String(body.ScheduleExpressionTimezone ?? 'UTC');
  if (canonicalTimeZone(timezone) === undefined) throw invalid(`Invalid ScheduleExpressionTimezone ${timezone}.`);
  const target = body.Target as StoredSchedule['Target'] | undefined;
  if (!target?.Arn || !target.RoleArn) throw invalid('A target needs an Arn and a RoleArn.');
  const startDate = epochMs(body.StartDate);
  const endDate = epochMs(body.EndDate);
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    throw invalid('The EndDate must be after the StartDate.');
  }
  return {
    Name: name,
    GroupName: group,
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: timezone,
    ...(startDate !== undefined && { StartDate: startDate }),
    ...(endDate !== undefined && { EndDate: endDate }),
    State: String(body.State ?? 'ENABLED'),
    ...(body.ActionAfterCompletion !== undefined && { ActionAfterCompletion: String(body.ActionAfterCompletion) }),
    FlexibleTimeWindow: body.FlexibleTimeWindow,
    Target: target,
    CreationDate: created,
    LastModificationDate: now,
  };
}

/** The REST JSON protocol sends timestamps as epoch seconds. */
function epochMs(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' ? value * 1000 : Date.parse(String(value));
}

function describe(schedule: StoredSchedule): Record<string, unknown> {
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  return {
    ...schedule,
    Arn: scheduleArn(schedule.GroupName, schedule.Name),
    StartDate: seconds(schedule.StartDate),
    EndDate: seconds(schedule.EndDate),
    CreationDate: seconds(schedule.CreationDate),
    LastModificationDate: seconds(schedule.LastModificationDate),
  };
}

const scheduleArn = (group: string, name: string) =>
  `arn:aws:scheduler:us-east-1:000000000000:schedule/${group}/${name}`;
