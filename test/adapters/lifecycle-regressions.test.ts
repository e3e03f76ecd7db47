import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { cancelTask } from '../../functions/api/cancel-task.js';
import { submitTask } from '../../functions/api/submit-task.js';
import { markDeadLettered } from '../../functions/dead-letter/mark-dead-lettered.js';
import { defineTask, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { SLEEP_MAX_MS } from '../../functions/tasks/sleep.js';
import { RetryLaterError, type RunTaskDeps, runTask } from '../../functions/worker/run-task.js';
import { redriveDeadLetters } from '../../infra/ops/redrive-dead-letters.js';
import { settings } from '../../infra/settings.js';
import { settingsProblems } from '../../infra/validate-settings.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { DependencyUnavailableError, ValidationError } from '../../shared/errors.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { TaskMessage } from '../../shared/task.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { sqsRecordFactory, sqsRecordFor } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';
import { dynamoHarness, queuedTask, type TaskStoreHarness } from '../support/task-store-harness.js';

/**
 * One named test per lifecycle fault a review confirmed, each against DynamoTaskStore on dynalite
 * with replies lost inside the SDK's retry loop where the fault needs it. Each failed before its fix.
 */
let aws: EmulatedAws;
let harness: TaskStoreHarness;
beforeAll(async () => {
  aws = await startEmulatedAws();
  harness = await dynamoHarness(aws);
});
afterAll(async () => {
  await harness.stop();
  await aws.stop();
});

const OWNER = 'jwt:owner-a';

function worker(registry: TaskRegistry, overrides: Partial<RunTaskDeps> = {}) {
  const clock = new FakeClock(new Date());
  const queue = new FakeTaskQueue();
  const log = new RecordingLog();
  const deps: RunTaskDeps = {
    store: harness.store,
    queue,
    registry,
    clock: clock.now,
    log,
    remainingTimeMs: () => 60_000,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    ttlDays: 7,
    maxResultBytes: 256 * 1024,
    leaseGraceMs: 5_000,
    random: () => 0.5,
    ...overrides,
  };
  return { clock, queue, log, deps };
}

const typeOf = (run: () => Promise<unknown>, options: { maxAttempts?: number } = {}): TaskRegistry =>
  new Map([['t', defineTask({ payload: z.unknown(), run, ...options })]]);

const given = async (overrides: Parameters<typeof queuedTask>[1] = {}) => {
  const task = queuedTask(new Date(), { type: 't', ownerId: OWNER, ...overrides });
  await harness.store.create(task, Date.now());
  return task;
};

describe('lifecycle regressions', () => {
  it('1. keeps the message of a retry whose release reply was lost, instead of leaving the task QUEUED with none', async () => {
    const task = await given();
    const { queue, deps } = worker(
      typeOf(async () => {
        harness.loseNextReply('release');
        throw new Error('flaky');
      }),
    );

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(await harness.store.get(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect(queue.retries).toHaveLength(1);
  });

  it('2. fails a result DynamoDB would refuse with ResultTooLarge on its first attempt, counting as DynamoDB counts', async () => {
    // 90 KB of payload and 80,000 small numbers: 330 KB of JSON, past 400 KB as DynamoDB counts the item.
    const task = await given({ payload: 'p'.repeat(90 * 1024) });
    const { queue, deps } = worker(typeOf(async () => Array.from({ length: 80_000 }, () => -1)));

    await runTask(sqsRecordFor(task), deps);

    expect(await harness.store.get(task.taskId)).toMatchObject({
      status: 'FAILED',
      attempt: 1,
      error: { code: 'ResultTooLarge' },
    });
    expect(queue.retries).toEqual([]);
  });

  it('3. leaves a running attempt alone when a duplicate of its message is dead-lettered, so its outcome is recorded', async () => {
    const task = await given();
    const now = new Date();
    await harness.store.claim(task.taskId, now, now.getTime() + 60_000);
    const log = new RecordingLog();

    await markDeadLettered(sqsRecordFor(task), {
      store: harness.store,
      clock: () => now,
      log,
      ttlDays: 7,
      clockToleranceMs: 5_000,
    });

    expect(await harness.store.get(task.taskId)).toMatchObject({ status: 'RUNNING', attempt: 1 });
    expect(await harness.store.finish(task.taskId, 1, { status: 'SUCCEEDED', result: 1 }, now, 9e9)).toBe(true);
  });

  it('4. refuses settings whose attempts would be cut short by the queue dead-lettering the message', () => {
    const registry: TaskRegistry = new Map([
      ['t', defineTask({ payload: z.unknown(), run: async () => 1, maxAttempts: 8 })],
    ]);

    const problems = settingsProblems({ ...settings, queue: { ...settings.queue, maxReceiveCount: 5 } }, registry);

    expect(problems).toEqual([expect.stringContaining('Task type "t" has 8 attempts but queue.maxReceiveCount is 5')]);
  });

  it('5. does not lose a DELETE that races a retry: the task the worker released is cancelled', async () => {
    const task = await given();
    const now = new Date();
    await harness.store.claim(task.taskId, now, now.getTime() + 60_000);
    // The worker releases the attempt right after the DELETE's first write found the task RUNNING.
    let raced = false;
    aws.documents.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          const values = (args as { input: { ExpressionAttributeValues?: Record<string, unknown> } }).input
            .ExpressionAttributeValues;
          if (!raced && (error as Error).name === 'ConditionalCheckFailedException' && values?.[':cancelled']) {
            raced = true;
            await harness.store.release(task.taskId, 1, { code: 'E', message: 'e' }, now, now.getTime());
          }
          throw error;
        }
      },
      { step: 'initialize', name: 'releaseDuringCancel' },
    );
    const store = new DynamoTaskStore(aws.documents, aws.resources.tableName);

    try {
      const cancelled = await cancelTask(
        { ownerId: OWNER, taskId: task.taskId },
        { store, clock: () => now, ttlDays: 7 },
      );

      expect(raced).toBe(true);
      expect(cancelled.status).toBe('CANCELLED');
      expect(await harness.store.get(task.taskId)).toMatchObject({ status: 'CANCELLED' });
    } finally {
      aws.documents.middlewareStack.remove('releaseDuringCancel');
    }
  });

  it('6. answers a keyless submit whose PutItem reply was lost with the new task, not 409', async () => {
    const queue = new FakeTaskQueue();
    harness.loseNextReply('create');

    const result = await submitTask(
      { ownerId: OWNER, type: 'echo', payload: { n: 6 } },
      {
        store: harness.store,
        queue,
        registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
        clock: () => new Date(),
        log: new RecordingLog(),
        defaultMaxAttempts: 3,
        ttlDays: 7,
      },
    );

    expect(result.created).toBe(true);
    expect(queue.enqueued.map((call) => call.message.taskId)).toEqual([result.task.taskId]);
  });

  it('7. accepts a submission whose send reply was lost once a worker has claimed its task, instead of 503', async () => {
    // SQS applied the send and the worker claimed the task before the reply came back lost.
    const queue: FakeTaskQueue & { enqueue(message: TaskMessage): Promise<void> } = Object.assign(new FakeTaskQueue(), {
      async enqueue(message: TaskMessage) {
        await harness.store.claim(message.taskId, new Date(), Date.now() + 60_000);
        throw new DependencyUnavailableError('task queue');
      },
    });

    const result = await submitTask(
      { ownerId: OWNER, type: 'echo', payload: { n: 7 } },
      {
        store: harness.store,
        queue,
        registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
        clock: () => new Date(),
        log: new RecordingLog(),
        defaultMaxAttempts: 3,
        ttlDays: 7,
      },
    );

    expect(result.created).toBe(true);
    expect(await harness.store.get(result.task.taskId)).toMatchObject({ status: 'RUNNING', attempt: 1 });
  });

  it('8. runs the attempt whose claim reply was lost, instead of burning an attempt and waiting out its own lease', async () => {
    const task = await given();
    const { queue, deps } = worker(typeOf(async () => 'done'));
    harness.loseNextReply('claim');

    await runTask(sqsRecordFor(task), deps);

    expect(await harness.store.get(task.taskId)).toMatchObject({ status: 'SUCCEEDED', attempt: 1, result: 'done' });
    expect(queue.retries).toEqual([]);
  });

  it('9. re-queues a dead-lettered task whose redrive reply was lost, instead of stranding it', async () => {
    const task = await given();
    const now = new Date();
    await harness.store.failAbandoned(task.taskId, { code: 'DeadLettered', message: 'x' }, now, 9e9);
    const queue = new FakeTaskQueue();
    harness.loseNextReply('requeueDeadLettered');

    const requeued = await redriveDeadLetters(
      { taskIds: [task.taskId], extraAttempts: 3 },
      { store: harness.store, queue, clock: () => now, log: new RecordingLog() },
    );

    expect(requeued).toEqual([task.taskId]);
    expect(queue.enqueued.map((call) => call.message.taskId)).toEqual([task.taskId]);
  });

  it('10. makes a duplicate message wait for the backoff the released attempt asked for', async () => {
    const task = await given();
    let runs = 0;
    const { clock, queue, deps } = worker(
      typeOf(async () => {
        runs++;
        throw new Error('flaky');
      }),
      { random: () => 0.99 },
    );
    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);
    const backoff = queue.retries[0]?.delaySeconds ?? 0;
    clock.advance(500);

    await expect(runTask(sqsRecordFactory(JSON.stringify({ taskId: task.taskId })), deps)).rejects.toBeInstanceOf(
      RetryLaterError,
    );

    expect(runs).toBe(1);
    expect(backoff).toBeGreaterThan(1);
    expect(queue.retries[1]?.delaySeconds).toBe(backoff);
  });

  it('11. counts TaskCancelled once for two DELETEs in the same millisecond', async () => {
    const task = await given();
    const now = new Date();
    const metrics = new RecordingTaskMetrics();
    const deps = { store: harness.store, clock: () => now, ttlDays: 7, metrics };

    await Promise.all([
      cancelTask({ ownerId: OWNER, taskId: task.taskId }, deps),
      cancelTask({ ownerId: OWNER, taskId: task.taskId }, deps),
    ]);

    expect(metrics.names.filter((name) => name === TASK_COUNTS.cancelled)).toHaveLength(1);
  });

  it('12. refuses a sleep longer than one attempt of the default worker can run', async () => {
    const submit = (ms: number) =>
      submitTask(
        { ownerId: OWNER, type: 'sleep', payload: { ms } },
        {
          store: harness.store,
          queue: new FakeTaskQueue(),
          registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
          clock: () => new Date(),
          log: new RecordingLog(),
          defaultMaxAttempts: 3,
          ttlDays: 7,
        },
      );

    await expect(submit(900_000)).rejects.toBeInstanceOf(ValidationError);
    await expect(submit(SLEEP_MAX_MS)).resolves.toMatchObject({ created: true });
    // With the margin the worker keeps to record the outcome (3 s), the longest sleep still fits.
    expect(SLEEP_MAX_MS + 3_000).toBeLessThan(settings.worker.timeoutSeconds * 1000);
  });

  it('13. stamps a cancel that lands after the worker put the task back with the time it landed', async () => {
    const t0 = new Date();
    const task = queuedTask(t0, { ownerId: OWNER });
    await harness.store.create(task, t0.getTime());
    const attemptStart = new Date(t0.getTime() + 1_000);
    await harness.store.claim(task.taskId, attemptStart, attemptStart.getTime() + 60_000);
    // The worker releases the attempt (a retry) between the cancel's two writes: its first write finds the
    // task RUNNING, and before it can ask the attempt to stop, the task is QUEUED again.
    const documents = new Proxy(aws.documents, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { input?: { UpdateExpression?: string } }) => {
          if (command.input?.UpdateExpression === 'SET cancelRequested = :true, updatedAt = :now') {
            await harness.store.release(
              task.taskId,
              1,
              { code: 'Boom', message: 'retry' },
              new Date(t0.getTime() + 2_000),
              t0.getTime() + 3_000,
            );
          }
          return target.send(command as never);
        };
      },
    });
    const store = new DynamoTaskStore(documents, aws.resources.tableName);
    // The request arrived before the attempt started; the cancel lands after it was released.
    const times = [t0, new Date(t0.getTime() + 4_000)];
    const clock = () => times.shift() ?? new Date(t0.getTime() + 4_000);

    const result = await store.cancel(task.taskId, OWNER, clock, Math.floor(t0.getTime() / 1000) + 3_600);

    expect(result).toMatchObject({ change: 'cancelled', task: { status: 'CANCELLED' } });
    // Never before the attempt that ran: finishedAt ≥ the claim that started it.
    expect(Date.parse(result?.task.finishedAt ?? '')).toBeGreaterThanOrEqual(attemptStart.getTime());
  });
});
