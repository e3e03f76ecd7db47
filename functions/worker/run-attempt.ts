import { isPermanentError } from '../../shared/errors.js';
import { dynamoItemSize } from '../../shared/item-size.js';
import { taskLogFields } from '../../shared/metric-names.js';
import type { Clock, Log, TaskOutcome, TaskStore } from '../../shared/ports.js';
import { checkStorableJson } from '../../shared/storable-json.js';
import { type Task, type TaskError, TaskStatus } from '../../shared/task.js';
import { BlobChangedError, blobRef, jsonBytes, type TaskData, taskDataKeys } from '../../shared/task-data.js';
import * as z from '../../shared/zod.js';
import type { TaskContext, TaskRegistry } from '../tasks/define-task.js';
import { attemptArtifacts } from './artifacts.js';
import { createProgressReporter } from './progress-reporter.js';

/**
 * How one attempt ended: a terminal outcome to record; a failure to retry; or `LOST`: the attempt
 * learned that it no longer holds the task (taken over after its lease, or dead-lettered), so it
 * stopped and has nothing to record.
 */
export type AttemptOutcome =
  | TaskOutcome
  | { readonly status: 'RETRY'; readonly error: TaskError }
  | { readonly status: 'LOST' };

export interface RunAttemptDeps {
  readonly store: TaskStore;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly maxResultBytes: number;
  /** How often a running task's record is checked for a cancel request. @default never */
  readonly cancelCheckIntervalMs?: number;
  /** The bucket for payloads, results and files too large for the item. @default none: everything inline */
  readonly taskData?: TaskData;
}

/** The handler is asked to stop this long before the invocation would be killed, to record the outcome. */
const DEADLINE_MARGIN_MS = 3_000;
/** Short timeouts (tests) keep most of their time: the margin is at most a tenth of it. */
const deadlineMargin = (remainingMs: number) => Math.min(DEADLINE_MARGIN_MS, Math.floor(remainingMs / 10));
/** Error messages are stored with the task (never logged): bounded, so a handler cannot bloat the item. */
export const MAX_ERROR_MESSAGE = 1_000;

/** DynamoDB's item limit, less room for what completion adds (status, timestamps, write id). */
const ITEM_LIMIT_BYTES = 400 * 1024;
const ITEM_MARGIN_BYTES = 1024;

/**
 * Runs the handler of a claimed task once, within `remainingMs`: validates the payload, gives the
 * handler a signal that fires at the deadline, on its owner's cancel or when the attempt loses the
 * task, throttles its progress writes, and checks the result fits the task's item.
 */
export async function runAttempt(task: Task, remainingMs: number, deps: RunAttemptDeps): Promise<AttemptOutcome> {
  const definition = deps.registry.get(task.type);
  if (!definition) {
    return { status: 'FAILED', error: { code: 'UnknownTaskType', message: `No handler for type "${task.type}".` } };
  }
  const readStart = deps.clock().getTime();
  const input = await payloadOf(task, deps);
  if ('status' in input) return input;
  // Reading a large payload back spends the invocation's time: the handler's deadline counts from the claim.
  const timeLeftMs = remainingMs - (deps.clock().getTime() - readStart);
  const payload = z.safeParse(definition.payload, input.payload);
  if (!payload.success) {
    return { status: 'FAILED', error: { code: 'InvalidPayload', message: z.prettifyError(payload.error) } };
  }
  const artifacts = attemptArtifacts(task, deps);
  const outcome = await runHandler(task, definition, payload.data, artifacts.api, timeLeftMs, deps);
  await artifacts.settle();
  // The files go with the outcome that ends the task; an attempt that ends nothing leaves none behind.
  if (outcome.status !== 'SUCCEEDED' && outcome.status !== 'FAILED') {
    await artifacts.discard();
    return outcome;
  }
  const stored = artifacts.stored();
  return stored.length > 0 ? { ...outcome, artifacts: stored } : outcome;
}

/**
 * The task's payload: from its item, or read back from the task data bucket, pinned to the ETag the
 * API checked (an upload replaced since then is not run). A missing or replaced object fails the task;
 * an unreachable bucket is retried.
 */
async function payloadOf(task: Task, deps: RunAttemptDeps): Promise<{ readonly payload: unknown } | AttemptOutcome> {
  if (!task.payloadRef) return { payload: task.payload };
  const unavailable = (message: string): AttemptOutcome => ({
    status: 'RETRY',
    error: { code: 'PayloadUnavailable', message },
  });
  if (!deps.taskData) return unavailable('This worker has no task data bucket to read the payload from.');
  let object: Awaited<ReturnType<TaskData['blobs']['get']>>;
  try {
    object = await deps.taskData.blobs.get(task.payloadRef.key, { ifMatch: task.payloadRef.etag });
  } catch (error) {
    if (error instanceof BlobChangedError) {
      return {
        status: 'FAILED',
        error: { code: 'PayloadChanged', message: 'The uploaded payload was replaced after the task was submitted.' },
      };
    }
    return unavailable(toTaskError(error, 'PayloadUnavailable').message);
  }
  if (!object) {
    return {
      status: 'FAILED',
      error: {
        code: 'PayloadMissing',
        message: 'The payload is no longer in the task data bucket (expired or deleted).',
      },
    };
  }
  try {
    return { payload: JSON.parse(object.body.toString('utf8')) };
  } catch {
    return { status: 'FAILED', error: { code: 'InvalidPayload', message: 'The stored payload is not valid JSON.' } };
  }
}

/** Runs the handler under its deadline and watch; the outcome before any files are attached. */
async function runHandler(
  task: Task,
  definition: NonNullable<ReturnType<TaskRegistry['get']>>,
  payload: unknown,
  artifacts: TaskContext['artifacts'],
  remainingMs: number,
  deps: RunAttemptDeps,
): Promise<AttemptOutcome> {
  const deadline = AbortSignal.timeout(Math.max(0, Math.floor(remainingMs - deadlineMargin(remainingMs))));
  const watch = watchTask(task, deps, deadline);
  const progress = createProgressReporter(task, deps, watch);
  const signal = AbortSignal.any([deadline, watch.signal]);
  try {
    const result = await definition.run(payload, {
      taskId: task.taskId,
      attempt: task.attempt,
      signal,
      progress: progress.report,
      artifacts,
    });
    if (watch.lost) return { status: 'LOST' };
    // A handler that finished despite a cancel request did the work: report it as done.
    return await toSucceeded(task, result, deps);
  } catch (error) {
    if (watch.lost) return { status: 'LOST' };
    if (watch.cancelled) return { status: 'CANCELLED' };
    if (isPermanentError(error)) return { status: 'FAILED', error: toTaskError(error, error.code) };
    if (deadline.aborted) {
      return { status: 'RETRY', error: { code: 'Timeout', message: 'The attempt ran past its deadline.' } };
    }
    return { status: 'RETRY', error: toTaskError(error, 'HandlerError') };
  } finally {
    watch.stop();
    progress.stop();
  }
}

/** What the attempt learns about its task while it runs; aborting `signal` stops the handler. */
export interface TaskWatch {
  readonly signal: AbortSignal;
  readonly cancelled: boolean;
  readonly lost: boolean;
  /** The task as read or written back: tells of a cancel request or of a newer attempt. */
  observe(current: Task | undefined): void;
  stop(): void;
}

/**
 * Re-reads the task now and then while it runs: aborts when its owner asked to cancel, or when the
 * attempt no longer holds it (another delivery took over after the lease, or the dead-letter path
 * failed it), so two attempts never run on after one of them has learned it lost. Short tasks
 * finish before the first check, so they cost no extra read.
 */
function watchTask(task: Task, deps: RunAttemptDeps, deadline: AbortSignal): TaskWatch {
  const controller = new AbortController();
  let cancelled = false;
  let lost = false;
  const observe = (current: Task | undefined) => {
    if (controller.signal.aborted) return;
    if (current?.status !== TaskStatus.Running || current.attempt !== task.attempt) {
      lost = true;
      deps.log.warn('attempt lost the task: stopping', taskLogFields(task));
      controller.abort(new Error('This attempt no longer holds the task.'));
    } else if (current.cancelRequested) {
      cancelled = true;
      controller.abort(new Error('Cancelled by its owner.'));
    }
  };
  const timer = deps.cancelCheckIntervalMs
    ? setInterval(() => {
        deps.store
          .get(task.taskId)
          .then(observe, (error: unknown) => deps.log.warn('task check failed', { ...taskLogFields(task), error }));
      }, deps.cancelCheckIntervalMs)
    : undefined;
  // Past the deadline the invocation is over, even if a handler that ignores its signal never settles.
  const stop = () => {
    clearInterval(timer);
    deadline.removeEventListener('abort', stop);
  };
  deadline.addEventListener('abort', stop, { once: true });
  return {
    signal: controller.signal,
    get cancelled() {
      return cancelled;
    },
    get lost() {
      return lost;
    },
    observe,
    stop,
  };
}

/** Results must be what a DynamoDB map can hold (depth, number range); checked like payloads. */
const StorableResult = z.unknown().check(z.superRefine(checkStorableJson));

/**
 * Results are stored as JSON: normalise now, and refuse what would not fit. A result larger than
 * `inlineMaxBytes` goes to the task data bucket (under this attempt's key) and the item keeps its
 * reference; one that could not be stored there is retried. Inline sizes are counted as DynamoDB
 * counts them, for the result on its own (the setting) and for the whole item it joins (the payload
 * shares it): a result refused here fails at once with ResultTooLarge, where one the table refused
 * would be retried in vain.
 */
async function toSucceeded(task: Task, result: unknown, deps: RunAttemptDeps): Promise<AttemptOutcome> {
  const { maxResultBytes, taskData } = deps;
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
  const bytes = jsonBytes(json);
  if (taskData && task.ownerHash && bytes > taskData.limits.inlineMaxBytes) {
    if (bytes > taskData.limits.maxObjectBytes) return resultTooLarge(taskData.limits.maxObjectBytes);
    const key = taskDataKeys.result(task.ownerHash, task.taskId, task.attempt);
    try {
      const { etag } = await taskData.blobs.put(key, Buffer.from(json, 'utf8'), 'application/json');
      return { status: 'SUCCEEDED', result: undefined, resultRef: blobRef(key, bytes, etag) };
    } catch (error) {
      return { status: 'RETRY', error: toTaskError(error, 'ResultUploadFailed') };
    }
  }
  const normalised = JSON.parse(json) as unknown;
  const storable = z.safeParse(StorableResult, normalised);
  if (!storable.success) {
    return { status: 'FAILED', error: { code: 'InvalidResult', message: z.prettifyError(storable.error) } };
  }
  const resultBytes = dynamoItemSize({ result: normalised });
  const itemBytes = dynamoItemSize({ ...task, result: normalised });
  if (resultBytes > maxResultBytes || itemBytes > ITEM_LIMIT_BYTES - ITEM_MARGIN_BYTES) {
    return resultTooLarge(Math.min(maxResultBytes, ITEM_LIMIT_BYTES - ITEM_MARGIN_BYTES - (itemBytes - resultBytes)));
  }
  return { status: 'SUCCEEDED', result: storable.data };
}

export const resultTooLarge = (limitBytes: number): TaskOutcome => ({
  status: 'FAILED',
  error: {
    code: 'ResultTooLarge',
    message: `The result takes more than the ${Math.max(0, limitBytes)} bytes its task's item has room for; store it elsewhere.`,
  },
});

/** A thrown value as the task's error: its message, bounded, under `code`. */
export function toTaskError(error: unknown, code: string): TaskError {
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.slice(0, MAX_ERROR_MESSAGE) };
}
