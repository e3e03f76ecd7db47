import { OffloadError } from '../../shared/errors.js';
import type { EnqueueOutcome, OutgoingMessage } from '../../shared/ports.js';
import type { Task } from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';
import type { BatchItem } from './batch-submission.js';
import {
  type CheckedSubmission,
  checkSubmission,
  discard,
  logSubmitted,
  recordSubmission,
  type SubmitResult,
  type SubmitTaskDeps,
  startLater,
  startsBySchedule,
  takeSubmitAllowance,
} from './submit-task.js';

/**
 * What became of one item of a batch: accepted (created now, or an idempotent replay), or refused with
 * why, the error as thrown: the HTTP layer answers it as it answers a request's (routes.ts).
 */
export type BatchItemResult =
  | ({ readonly accepted: true } & SubmitResult)
  | { readonly accepted: false; readonly error: unknown };

/** Items checked or written at once: a batch of 100 does not open 100 connections to the table. */
const WRITES_IN_FLIGHT = 10;

/**
 * Submits each item of a batch on its own terms, as `submitTask` would, and answers one result per
 * item, in order. Items are checked first (a bad one fails alone), then the owner's rate limit takes
 * the valid ones all at once (over it, the whole batch is refused and nothing recorded), then each is
 * recorded (its own conditional put, so idempotency keys work per item), then the new ones are sent
 * in batches of ten. An item whose record or send failed leaves nothing behind: its record is
 * discarded, as a failed single submit's is, unless it has moved on (claimed, or promised to a replay).
 */
export async function submitBatch(items: readonly BatchItem[], deps: SubmitTaskDeps): Promise<BatchItemResult[]> {
  const results: Array<BatchItemResult | undefined> = items.map((item) =>
    item instanceof OffloadError ? { accepted: false, error: item } : undefined,
  );
  const valid: Array<{ readonly index: number; readonly checked: CheckedSubmission }> = [];
  const submissions = items.flatMap((item, index) => (item instanceof OffloadError ? [] : [{ index, item }]));
  // Checks may read an upload or resolve a callback host: a few at a time, each item's problem its own.
  await eachLimited(submissions, WRITES_IN_FLIGHT, async ({ index, item }) => {
    try {
      valid.push({ index, checked: await checkSubmission(item, deps) });
    } catch (error) {
      results[index] = { accepted: false, error };
    }
  });
  valid.sort((a, b) => a.index - b.index);
  const ownerId = valid[0]?.checked.input.ownerId;
  if (ownerId !== undefined) await takeSubmitAllowance(ownerId, valid.length, deps);

  const created: Array<{ readonly index: number; readonly task: Task }> = [];
  await eachLimited(valid, WRITES_IN_FLIGHT, async ({ index, checked }) => {
    try {
      const recorded = await recordSubmission(checked, deps);
      if (recorded.created) created.push({ index, task: recorded.task });
      else results[index] = { accepted: true, ...recorded };
    } catch (error) {
      results[index] = { accepted: false, error };
    }
  });
  created.sort((a, b) => a.index - b.index);

  const outcomes = await start(
    created.map(({ task }) => task),
    deps,
  );
  await Promise.all(
    created.map(async ({ index, task }, i) => {
      const outcome = outcomes[i] ?? { sent: false, error: new Error('no outcome for the message') };
      // Kept: a worker claimed it (the send went through after all) or a replay promised it elsewhere.
      if (outcome.sent || (await discard(task, deps)) === 'kept') {
        logSubmitted(task, deps);
        results[index] = { accepted: true, task, created: true };
        return;
      }
      results[index] = { accepted: false, error: outcome.error };
    }),
  );
  return results.map((result) => result ?? { accepted: false, error: new Error('The item got no result.') });
}

/**
 * Starts the created tasks: a one-time schedule each for those whose `runAt` is beyond the SQS delay,
 * messages for the rest (in batches when the queue takes them). Outcomes in the order given.
 */
async function start(tasks: readonly Task[], deps: SubmitTaskDeps): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = new Array(tasks.length);
  const indexes = tasks.map((_, index) => index);
  const byMessage = indexes.filter((index) => !startsBySchedule(tasks[index] as Task, deps));
  const bySchedule = indexes.filter((index) => startsBySchedule(tasks[index] as Task, deps));
  // A few Scheduler calls at a time, as for the table: its API has a rate of its own.
  await eachLimited(bySchedule, WRITES_IN_FLIGHT, async (index) => {
    outcomes[index] = await startLater(tasks[index] as Task, deps).then(
      (): EnqueueOutcome => ({ sent: true }),
      (error: unknown): EnqueueOutcome => ({ sent: false, error: asError(error) }),
    );
  });
  const sent = await send(
    byMessage.map((index) => {
      const task = tasks[index] as Task;
      return { message: taskMessageOf(task), delaySeconds: task.delaySeconds };
    }),
    deps,
  );
  byMessage.forEach((index, i) => {
    outcomes[index] = sent[i] ?? { sent: false, error: new Error('no outcome for the message') };
  });
  return outcomes;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** The messages in batches when the queue takes batches, else one by one. */
async function send(messages: readonly OutgoingMessage[], deps: SubmitTaskDeps): Promise<EnqueueOutcome[]> {
  if (messages.length === 0) return [];
  if (deps.queue.enqueueBatch) return deps.queue.enqueueBatch(messages);
  return Promise.all(
    messages.map(async ({ message, delaySeconds }): Promise<EnqueueOutcome> => {
      try {
        await deps.queue.enqueue(message, { delaySeconds });
        return { sent: true };
      } catch (error) {
        return { sent: false, error: asError(error) };
      }
    }),
  );
}

/** Runs `work` on each item, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}
