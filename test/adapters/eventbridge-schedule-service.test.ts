import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { atExpression } from '../../functions/api/run-at.js';
import { type SchedulerEmulator, startSchedulerEmulator } from '../../infra/local/scheduler-emulator.js';
import { EventBridgeScheduleService, targetInput } from '../../shared/aws/eventbridge-schedule-service.js';
import type { SchedulerTarget } from '../../shared/config.js';
import { ValidationError } from '../../shared/errors.js';
import type { ScheduleDefinition } from '../../shared/ports.js';

/**
 * EventBridgeScheduleService through the real Scheduler SDK client against the local stack's Scheduler
 * emulator: the requests the adapter sends, and the firings the emulator makes of them.
 */
const TARGET: SchedulerTarget = {
  groupName: 'offload-test',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fire',
  roleArn: 'arn:aws:iam::000000000000:role/scheduler',
  deadLetterQueueArn: 'arn:aws:sqs:us-east-1:000000000000:firings-dlq',
  retryAttempts: 3,
  maxEventAgeSeconds: 3600,
};

const fired: Array<{ arn: string; event: Record<string, unknown> }> = [];
let failNextFirings = 0;
const failedFirings: string[] = [];
let emulator: SchedulerEmulator;
let service: EventBridgeScheduleService;

const startEmulator = (dataDir?: string) =>
  startSchedulerEmulator({
    dataDir,
    // A rate minute lasts 50 ms here, so a rate(1 minute) schedule fires within the test.
    rateMinuteMs: 50,
    invoke: async (arn, event) => {
      if (failNextFirings > 0) {
        failNextFirings--;
        throw new Error('target failed (injected)');
      }
      fired.push({ arn, event: event as Record<string, unknown> });
    },
    onFailedFiring: (name) => failedFirings.push(name),
  });

const serviceFor = (endpoint: string) => new EventBridgeScheduleService(TARGET, { endpoint: `${endpoint}` });

beforeAll(async () => {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  emulator = await startEmulator();
  service = serviceFor(emulator.endpoint);
});
afterAll(() => emulator.stop());
afterEach(() => {
  fired.length = 0;
  failedFirings.length = 0;
  failNextFirings = 0;
});

const definition = (overrides: Partial<ScheduleDefinition> = {}): ScheduleDefinition => ({
  name: `s-${Math.random().toString(36).slice(2)}`,
  expression: 'rate(1 minute)',
  timezone: 'UTC',
  enabled: true,
  target: { kind: 'schedule', ownerId: 'jwt:alice', name: 'nightly' },
  ...overrides,
});

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const firingsOf = (name: string) => fired.filter((f) => f.event.name === name || f.event.taskId === name);

describe('EventBridgeScheduleService against the Scheduler emulator', () => {
  it('creates a schedule whose firings carry the target and their scheduled time', async () => {
    const schedule = definition({ target: { kind: 'schedule', ownerId: 'jwt:alice', name: 'every-minute' } });
    await service.put(schedule);

    const firings = await until(
      () => (firingsOf('every-minute').length >= 2 ? firingsOf('every-minute') : undefined),
      'two firings',
    );
    await service.delete(schedule.name);

    expect(firings[0]?.arn).toBe(TARGET.functionArn);
    expect(firings[0]?.event).toMatchObject({ kind: 'schedule', ownerId: 'jwt:alice', name: 'every-minute' });
    const times = firings.map((f) => String(f.event.scheduledTime));
    expect(times.every((t) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(t))).toBe(true);
  });

  it('replaces a schedule of the same name instead of failing', async () => {
    const schedule = definition({ expression: 'cron(0 2 * * ? *)' });
    await service.put(schedule);
    await service.put({ ...schedule, expression: 'cron(0 3 * * ? *)', enabled: false });

    expect(emulator.schedules()).toContainEqual({
      name: schedule.name,
      expression: 'cron(0 3 * * ? *)',
      state: 'DISABLED',
    });
  });

  it('never fires a disabled schedule', async () => {
    const schedule = definition({ enabled: false, target: { kind: 'schedule', ownerId: 'jwt:a', name: 'off' } });
    await service.put(schedule);
    await sleep(200);
    await service.delete(schedule.name);

    expect(firingsOf('off')).toEqual([]);
  });

  it('deletes a schedule, and takes deleting a missing one calmly', async () => {
    const schedule = definition({ expression: 'cron(0 2 * * ? *)' });
    await service.put(schedule);
    await service.delete(schedule.name);
    await service.delete(schedule.name);

    expect(emulator.schedules().map((s) => s.name)).not.toContain(schedule.name);
  });

  it('fires a one-time schedule once, then it is gone', async () => {
    const taskId = '6f1c2a3b-0000-4000-8000-000000000001';
    const schedule = definition({
      name: `t-${taskId}`,
      expression: atExpression(new Date(Date.now() + 1_000)),
      target: { kind: 'runAt', taskId },
      deleteAfterCompletion: true,
    });
    await service.put(schedule);

    await until(() => firingsOf(taskId)[0], 'the one-time firing');
    await sleep(100);

    expect(firingsOf(taskId)).toHaveLength(1);
    expect(emulator.schedules().map((s) => s.name)).not.toContain(schedule.name);
  });

  it('reports a firing whose target fails every try (it would go to the dead-letter queue)', async () => {
    failNextFirings = 3;
    const schedule = definition({
      expression: atExpression(new Date(Date.now() + 500)),
      target: { kind: 'runAt', taskId: 'failing' },
      deleteAfterCompletion: true,
    });
    await service.put(schedule);

    expect(await until(() => failedFirings[0], 'the failed firing')).toBe(schedule.name);
  });

  it.each([
    ['an expression Scheduler refuses', { expression: 'cron(0 2 * * *)' }],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }],
  ])('answers %s with a ValidationError', async (_what, overrides) => {
    await expect(service.put(definition(overrides))).rejects.toThrow(ValidationError);
  });

  it('keeps schedules in the data dir across a restart, and fires a one-time one missed meanwhile', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'offload-scheduler-'));
    try {
      const first = await startEmulator(dataDir);
      const kept = definition({ expression: 'cron(0 2 * * ? *)' });
      const missed = definition({
        expression: atExpression(new Date(Date.now() + 1_500)),
        target: { kind: 'runAt', taskId: 'missed-while-down' },
        deleteAfterCompletion: true,
      });
      await serviceFor(first.endpoint).put(kept);
      await serviceFor(first.endpoint).put(missed);
      await first.stop();
      await sleep(1_600);

      const second = await startEmulator(dataDir);
      await until(() => firingsOf('missed-while-down')[0], 'the missed firing');
      const names = second.schedules().map((s) => s.name);
      await second.stop();

      expect(names).toContain(kept.name);
      expect(names).not.toContain(missed.name);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('targetInput', () => {
  it('leaves only its own placeholder for Scheduler to fill in, whatever an owner id holds', () => {
    const input = targetInput({ kind: 'schedule', ownerId: 'jwt:<aws.scheduler.scheduled-time>', name: 'n' });

    expect(input.match(/<aws\.scheduler\.scheduled-time>/g)).toHaveLength(1);
    expect(JSON.parse(input)).toEqual({
      kind: 'schedule',
      ownerId: 'jwt:<aws.scheduler.scheduled-time>',
      name: 'n',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });
});
