import { type FinishedTask, signedCallbackRequest } from '../../shared/callbacks/callback-event.js';
import { parseCallbackMessage } from '../../shared/callbacks/callback-message.js';
import type { CallbackQueue, CallbackResponse, CallbackSender } from '../../shared/callbacks/ports.js';
import { CALLBACK_COUNTS, CALLBACK_TIMINGS } from '../../shared/metric-names.js';
import type { CallbackRecord, Clock, Log, TaskStore } from '../../shared/ports.js';
import { CallbackStatus, callbackNotBefore, callbackView, hasPendingCallback, isExpired } from '../../shared/task.js';
import type { TaskData } from '../../shared/task-data.js';
import { taskViewOf } from '../../shared/task-data-view.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { MAX_DELAY_SECONDS, MAX_VISIBILITY_WAIT_SECONDS, secondsUntil } from '../../shared/time.js';

/** One SQS record of the delivery queue, reduced to what a delivery needs. */
export interface CallbackDelivery {
  readonly messageId: string;
  readonly body: string;
  readonly receiptHandle: string;
}

export interface DeliverCallbackDeps {
  readonly store: TaskStore;
  readonly queue: CallbackQueue;
  readonly sender: CallbackSender;
  /** The owner's signing keys, the current one first (shared/callbacks/signing.ts). */
  readonly signingKeys: (ownerId: string) => Promise<readonly Buffer[]>;
  readonly clock: Clock;
  readonly log: Log;
  /** Base of the exponential backoff between attempts. */
  readonly retryBaseDelaySeconds: number;
  /** Cap of one backoff. */
  readonly retryMaxDelaySeconds: number;
  /** How long after the task ended attempts go on; then the callback is FAILED. */
  readonly deliveryWindowSeconds: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default not recorded */
  readonly metrics?: TaskMetrics;
  /**
   * Where results and files too large for the item are: the event links them (`resultUrl`, file URLs) as
   * `GET /tasks/{id}` does. @default none: the view without links
   */
  readonly taskData?: TaskData;
}

/** The message stays on the queue and comes back after the visibility it was given. */
export class DeliveryNotDueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryNotDueError';
  }
}

/**
 * Makes one attempt at a finished task's callback. Resolves when the message should be deleted
 * (delivered, given up on, duplicate, or the next attempt sent as a message of its own); throws when
 * it should come back (not due yet, or the retry could not be sent).
 *
 * Each attempt reads the task (strongly consistent): the body is the view at that moment, and the
 * stored attempt count fences the record. A 2xx delivers, a 410 stops, anything else (another status,
 * a redirect, a timeout, a refused address, a connection error) is retried with exponential backoff and
 * jitter until `deliveryWindowSeconds` after the task ended, then the callback is FAILED. A retry is a
 * new message with a delay (up to SQS's 15 minutes; a longer wait is the rest of it as visibility), so
 * the receive count of one message stays small and `maxReceiveCount` catches only crashes.
 */
export async function deliverCallback(delivery: CallbackDelivery, deps: DeliverCallbackDeps): Promise<void> {
  const message = parseCallbackMessage(delivery.body);
  if (!message) {
    deps.log.error('malformed callback message: dropped', { messageId: delivery.messageId });
    return;
  }
  const now = deps.clock();
  const task = await deps.store.get(message.taskId);
  if (!task || isExpired(task, now.getTime()) || !hasPendingCallback(task) || task.finishedAt === undefined) {
    deps.log.info('callback message for no pending callback: dropped', { taskId: message.taskId });
    return;
  }
  const finished = task as FinishedTask;
  const notBefore = callbackNotBefore(finished);
  if (notBefore !== undefined && notBefore > now.getTime()) {
    const waitSeconds = Math.min(MAX_VISIBILITY_WAIT_SECONDS, secondsUntil(notBefore, now.getTime()));
    await deps.queue.retryLater(delivery.receiptHandle, waitSeconds);
    throw new DeliveryNotDueError(`The callback of task ${task.taskId} is due in ${waitSeconds} s.`);
  }
  const before = callbackView(finished)?.attempts ?? 0;
  const deadline = Date.parse(finished.finishedAt) + deps.deliveryWindowSeconds * 1000;
  if (now.getTime() >= deadline && notBefore === undefined) {
    // No attempt was ever scheduled this late: the first message was lost or delayed past the window (the
    // sweep re-sent it). Give up without calling. A scheduled last attempt (at the deadline) is still made.
    await settle(finished, { status: CallbackStatus.Failed, attempts: before }, before, deps);
    return;
  }

  const keys = await deps.signingKeys(task.ownerId);
  // The view as GET /tasks/{id} answers it now: a result kept in the bucket is a URL, minted for this attempt.
  const view = await taskViewOf(finished, deps);
  const response = await deps.sender.send(signedCallbackRequest(finished, view, keys, now));
  const answeredAt = deps.clock();
  const attempts = before + 1;
  const statusCode = response.kind === 'response' ? response.statusCode : undefined;
  const context = { taskId: task.taskId, attempts, ...describe(response) };
  if (statusCode !== undefined && statusCode >= 200 && statusCode < 300) {
    const recorded = await settle(
      finished,
      { status: CallbackStatus.Delivered, attempts, lastStatusCode: statusCode, deliveredAt: answeredAt.toISOString() },
      before,
      deps,
    );
    if (recorded) {
      deps.log.info('callback delivered', context);
      deps.metrics?.record(
        CALLBACK_TIMINGS.latencyMs,
        task.type,
        answeredAt.getTime() - Date.parse(finished.finishedAt),
      );
    }
    return;
  }
  const delaySeconds = callbackBackoffSeconds(attempts, deps);
  if (statusCode === 410 || answeredAt.getTime() >= deadline) {
    if (await settle(finished, { status: CallbackStatus.Failed, attempts, lastStatusCode: statusCode }, before, deps)) {
      deps.log.warn('callback failed: not delivered', { ...context, gone: statusCode === 410 });
    }
    return;
  }
  // The last attempt is made at the deadline, not skipped because a backoff would overshoot it.
  const nextAttemptAt = Math.min(answeredAt.getTime() + delaySeconds * 1000, deadline);
  const recorded = await deps.store.recordCallback(
    task.taskId,
    recordOf(finished, { status: CallbackStatus.Pending, attempts, lastStatusCode: statusCode, nextAttemptAt }, before),
    answeredAt,
  );
  if (!recorded) {
    deps.log.info('callback attempt superseded: another delivery recorded first', context);
    return;
  }
  deps.log.info('callback will be retried', { ...context, delaySeconds });
  deps.metrics?.record(CALLBACK_COUNTS.retried, task.type);
  const waitSeconds = secondsUntil(nextAttemptAt, answeredAt.getTime());
  // Should the send fail, this message comes back after its visibility timeout, finds the attempt not
  // due and waits for it: the chain goes on either way.
  await deps.queue.enqueue({ taskId: task.taskId }, { delaySeconds: Math.min(MAX_DELAY_SECONDS, waitSeconds) });
}

type Outcome = Omit<CallbackRecord, 'eventAt' | 'attemptsBefore'>;

const recordOf = (task: FinishedTask, outcome: Outcome, attemptsBefore: number): CallbackRecord => ({
  eventAt: task.finishedAt,
  attemptsBefore,
  ...outcome,
});

/** Records a final outcome (DELIVERED or FAILED); false when another delivery recorded first. */
async function settle(task: FinishedTask, outcome: Outcome, before: number, deps: DeliverCallbackDeps) {
  const recorded = await deps.store.recordCallback(task.taskId, recordOf(task, outcome, before), deps.clock());
  if (!recorded) {
    deps.log.info('callback outcome superseded: another delivery recorded first', { taskId: task.taskId });
    return false;
  }
  deps.metrics?.record(
    outcome.status === CallbackStatus.Delivered ? CALLBACK_COUNTS.delivered : CALLBACK_COUNTS.failed,
    task.type,
  );
  if (outcome.status === CallbackStatus.Failed && outcome.attempts === before) {
    deps.log.warn('callback failed: the delivery window ended', { taskId: task.taskId, attempts: before });
  }
  return true;
}

/** What the log says about an answer: the status, or the reason there was none (never the URL). */
const describe = (response: CallbackResponse): Record<string, string | number> =>
  response.kind === 'response' ? { statusCode: response.statusCode } : { reason: response.reason };

/**
 * Exponential backoff with "equal" jitter: between half and all of base × 2^(attempt−1), capped. Half is
 * fixed so that a run of unlucky draws cannot pack many attempts into the window.
 */
export function callbackBackoffSeconds(
  attempt: number,
  deps: Pick<DeliverCallbackDeps, 'retryBaseDelaySeconds' | 'retryMaxDelaySeconds' | 'random'>,
): number {
  const ceiling = Math.min(deps.retryMaxDelaySeconds, deps.retryBaseDelaySeconds * 2 ** (attempt - 1));
  return Math.max(1, Math.ceil(ceiling / 2 + ((deps.random ?? Math.random)() * ceiling) / 2));
}
