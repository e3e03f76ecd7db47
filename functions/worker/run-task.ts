import { PermanentError } from '../../shared/errors.js';
import { TASK_COUNTS, TASK_TIMINGS } from '../../shared/metric-names.js';
import type { Clock, Log, TaskOutcome, TaskQueue, TaskStore } from '../../shared/ports.js';
import { checkStorableJson } from '../../shared/storable-json.js';
import { isTerminal, type Task, type TaskError } from '../../shared/task.js';
import { parseTaskMessage } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import * as z from '../../shared/zod.js';
import type { TaskRegistry } from '../tasks/define-task.js';
import { createProgressReporter } from './progress-reporter.js';

/** One SQS record, reduced to what the worker needs. */
export interface TaskDelivery {
  readonly messageId: string;
  readonly body: string;
  readonly receiptHandle: string;
}

export interface RunTaskDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  /** Milliseconds left in this invocation (Lambda context.getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  readonly retryBaseDelaySeconds: number;
  readonly retryMaxDelaySeconds: number;
  readonly ttlDays: number;
  readonly maxResultBytes: number;
  /** How often a running task's record is checked for a cancel request. @default never */
  readonly cancelCheckIntervalMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
}

/** The record stays on the queue; SQS delivers it again after its visibility timeout. */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/** The handler is asked to stop this long before the invocation would be killed, to record the outcome. */
const DEADLINE_MARGIN_MS = 3_000;
/** Short timeouts (tests) keep most of their time: the margin is at most a tenth of it. */
const deadlineMargin = (remainingMs: number) => Math.min(DEADLINE_MARGIN_MS, Math.floor(remainingMs / 10));
const MAX_ERROR_MESSAGE = 1_000;
/** SQS caps a message's visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Claims the task a message names, runs its handler, and records the outcome. Resolves when the
 * message should be deleted (done, duplicate, or unusable); throws when it should be delivered again.
 */
export async function runTask(delivery: TaskDelivery, deps: RunTaskDeps): Promise<void> {
  try {
    await claimAndRun(delivery, deps);
  } catch (error) {
    // The batch processor only records a failed record; say why, or the retry is a mystery.
    if (!(error instanceof RetryLaterError)) {
      deps.log.error('task message failed: it will be delivered again', { messageId: delivery.messageId, error });
    }
    throw error;
  }
}

async function claimAndRun(delivery: TaskDelivery, deps: RunTaskDeps): Promise<void> {
  const message = parseTaskMessage(delivery.body);
  if (!message) {
    // Not from our API: retrying cannot help and there is no task to mark.
    deps.log.error('malformed task message: dropped', { messageId: delivery.messageId });
    return;
  }
  const now = deps.clock();
  const remaining = deps.remainingTimeMs();
  const claim = await deps.store.claim(message.taskId, now, now.getTime() + remaining);

  if (!claim.claimed) {
    const current = claim.task;
    if (!current) {
      deps.log.warn('message for an unknown task: dropped', { taskId: message.taskId, messageId: delivery.messageId });
      return;
    }
    if (isTerminal(current.status)) {
      deps.log.info('duplicate delivery of a finished task: acknowledged', { taskId: current.taskId });
      return;
    }
    // Look again when the other claim's lease ends, not after the whole visibility timeout.
    if (current.leaseExpiresAt !== undefined) {
      const untilLeaseEnds = Math.ceil((current.leaseExpiresAt - now.getTime()) / 1000) + 1;
      await deps.queue.retryLater(
        delivery.receiptHandle,
        Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, untilLeaseEnds)),
      );
    }
    throw new RetryLaterError(`Task ${current.taskId} is ${current.status} under another claim.`);
  }

  const task = claim.task;
  const log = (text: string, extra: Record<string, unknown> = {}) =>
    deps.log.info(text, {
      taskId: task.taskId,
      type: task.type,
      attempt: task.attempt,
      messageId: delivery.messageId,
      ...extra,
    });
  log('task started');
  deps.metrics?.record(TASK_COUNTS.started, task.type);
  if (task.attempt === 1) {
    // From the moment the task could run: a delay the caller asked for is not waiting.
    const runnableAt = Date.parse(task.createdAt) + (task.delaySeconds ?? 0) * 1000;
    deps.metrics?.record(TASK_TIMINGS.queueWaitMs, task.type, Math.max(0, now.getTime() - runnableAt));
  }

  // Cancel asked while the previous worker was still on it, before that worker died.
  if (task.cancelRequested) {
    await finish(task, { status: 'CANCELLED' }, deps);
    log('task cancelled before it ran');
    return;
  }
  // A worker that crashed mid-attempt leaves the lease to expire; its attempts count too.
  if (task.attempt > task.maxAttempts) {
    await finish(task, { status: 'FAILED', error: attemptsExhausted(task) }, deps);
    return;
  }

  const outcome = await execute(task, remaining, deps);
  deps.metrics?.record(TASK_TIMINGS.durationMs, task.type, deps.clock().getTime() - now.getTime());
  if (outcome.status !== 'RETRY') {
    await finish(task, outcome, deps);
    log('task finished', { status: outcome.status });
    return;
  }
  if (task.attempt >= task.maxAttempts) {
    await finish(task, { status: 'FAILED', error: outcome.error }, deps);
    log('task failed: no attempts left', { error: outcome.error });
    return;
  }
  if (!(await deps.store.release(task.taskId, task.attempt, outcome.error, deps.clock()))) {
    deps.log.warn('stale attempt: task changed while running', { taskId: task.taskId, attempt: task.attempt });
    return;
  }
  const delaySeconds = backoffSeconds(task.attempt, deps);
  await deps.queue.retryLater(delivery.receiptHandle, delaySeconds);
  log('task will be retried', { error: outcome.error, delaySeconds });
  deps.metrics?.record(TASK_COUNTS.retried, task.type);
  throw new RetryLaterError(`Task ${task.taskId} attempt ${task.attempt} failed: ${outcome.error.code}.`);
}

type AttemptOutcome = TaskOutcome | { readonly status: 'RETRY'; readonly error: TaskError };

async function execute(task: Task, remainingMs: number, deps: RunTaskDeps): Promise<AttemptOutcome> {
  const definition = deps.registry.get(task.type);
  if (!definition) {
    return { status: 'FAILED', error: { code: 'UnknownTaskType', message: `No handler for type "${task.type}".` } };
  }
  const payload = z.safeParse(definition.payload, task.payload);
  if (!payload.success) {
    return { status: 'FAILED', error: { code: 'InvalidPayload', message: z.prettifyError(payload.error) } };
  }
  const deadline = AbortSignal.timeout(Math.max(0, Math.floor(remainingMs - deadlineMargin(remainingMs))));
  const cancellation = watchForCancel(task.taskId, deps, deadline);
  const progress = createProgressReporter(task, deps, cancellation.cancel);
  const signal = AbortSignal.any([deadline, cancellation.signal]);
  try {
    const result = await definition.run(payload.data, {
      taskId: task.taskId,
      attempt: task.attempt,
      signal,
      progress: progress.report,
    });
    // A handler that finished despite a cancel request did the work: report it as done.
    return toSucceeded(result, resultBudget(task, deps.maxResultBytes));
  } catch (error) {
    if (cancellation.signal.aborted) return { status: 'CANCELLED' };
    if (error instanceof PermanentError) return { status: 'FAILED', error: describe(error, error.code) };
    if (deadline.aborted) {
      return { status: 'RETRY', error: { code: 'Timeout', message: 'The attempt ran past its deadline.' } };
    }
    return { status: 'RETRY', error: describe(error, 'HandlerError') };
  } finally {
    cancellation.stop();
    progress.stop();
  }
}

/**
 * Re-reads the task now and then while it runs, and aborts when its owner asked to cancel. Short
 * tasks finish before the first check, so they cost no extra read.
 */
function watchForCancel(
  taskId: string,
  deps: RunTaskDeps,
  deadline: AbortSignal,
): { signal: AbortSignal; cancel: () => void; stop: () => void } {
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('Cancelled by its owner.'));
  if (!deps.cancelCheckIntervalMs) return { signal: controller.signal, cancel, stop: () => {} };
  const timer = setInterval(() => {
    deps.store.get(taskId).then(
      (current) => {
        if (current?.cancelRequested) cancel();
      },
      (error: unknown) => deps.log.warn('cancel check failed', { taskId, error }),
    );
  }, deps.cancelCheckIntervalMs);
  // Past the deadline the invocation is over, even if a handler that ignores its signal never settles.
  const stop = () => {
    clearInterval(timer);
    deadline.removeEventListener('abort', stop);
  };
  deadline.addEventListener('abort', stop, { once: true });
  return { signal: controller.signal, cancel, stop };
}

/** Results are stored as JSON: normalise now, and refuse what would not fit in the item. */
/** Results must be what a DynamoDB map can hold (depth, number range); checked like payloads. */
const StorableResult = z.unknown().check(z.superRefine(checkStorableJson));

/** DynamoDB's item limit, less room for what completion adds (status, timestamps, error, progress). */
const ITEM_LIMIT_BYTES = 400 * 1024;
const ITEM_MARGIN_BYTES = 8 * 1024;

/**
 * The result shares the task's item with its payload: the budget is the smaller of the setting and
 * what the item has left. The item's JSON length overestimates DynamoDB's size, which keeps this safe.
 */
const resultBudget = (task: Task, maxResultBytes: number): number =>
  Math.min(maxResultBytes, ITEM_LIMIT_BYTES - ITEM_MARGIN_BYTES - Buffer.byteLength(JSON.stringify(task)));

function toSucceeded(result: unknown, maxBytes: number): AttemptOutcome {
  let json: string | undefined;
  try {
    json = JSON.stringify(result ?? null);
  } catch {
    json = undefined; // BigInt, cycles
  }
  // A function or symbol stringifies to undefined. Either way the same result would fail again: no retry.
  if (json === undefined) {
    return { status: 'FAILED', error: { code: 'InvalidResult', message: 'The result is not JSON-serializable.' } };
  }
  if (Buffer.byteLength(json) > maxBytes) {
    return {
      status: 'FAILED',
      error: { code: 'ResultTooLarge', message: `The result is larger than ${maxBytes} bytes; store it elsewhere.` },
    };
  }
  const storable = StorableResult.safeParse(JSON.parse(json));
  if (!storable.success) {
    return { status: 'FAILED', error: { code: 'InvalidResult', message: z.prettifyError(storable.error) } };
  }
  return { status: 'SUCCEEDED', result: storable.data };
}

async function finish(task: Task, outcome: TaskOutcome, deps: RunTaskDeps): Promise<void> {
  const now = deps.clock();
  const expiresAt = Math.floor(now.getTime() / 1000) + deps.ttlDays * 86_400;
  if (!(await deps.store.finish(task.taskId, task.attempt, outcome, now, expiresAt))) {
    // Fencing: a newer attempt owns the task now, so this one's outcome is dropped on purpose.
    deps.log.warn('stale attempt: outcome not recorded', { taskId: task.taskId, attempt: task.attempt });
    return;
  }
  deps.metrics?.record(OUTCOME_COUNTS[outcome.status], task.type);
}

const OUTCOME_COUNTS = {
  SUCCEEDED: TASK_COUNTS.succeeded,
  FAILED: TASK_COUNTS.failed,
  CANCELLED: TASK_COUNTS.cancelled,
} as const;

/** Exponential backoff with full jitter, in whole seconds as SQS wants them. */
export function backoffSeconds(
  attempt: number,
  deps: Pick<RunTaskDeps, 'retryBaseDelaySeconds' | 'retryMaxDelaySeconds' | 'random'>,
): number {
  const ceiling = Math.min(deps.retryMaxDelaySeconds, deps.retryBaseDelaySeconds * 2 ** (attempt - 1));
  // floor over ceiling + 1 values: uniform on 0..ceiling (round would halve the odds of both ends).
  return Math.floor((deps.random ?? Math.random)() * (ceiling + 1));
}

function attemptsExhausted(task: Task): TaskError {
  return {
    code: 'AttemptsExhausted',
    message: `The task did not finish in ${task.maxAttempts} attempts; last error: ${
      task.lastError?.message ?? 'none recorded (the worker stopped mid-attempt)'
    }`,
  };
}

function describe(error: unknown, code: string): TaskError {
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.slice(0, MAX_ERROR_MESSAGE) };
}
