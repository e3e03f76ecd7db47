import type { Task, TaskView } from '../task.js';
import { signatureHeader } from './signing.js';

/** The event types of a finished task, one per terminal status. */
export const CALLBACK_EVENT_TYPES = {
  SUCCEEDED: 'task.succeeded',
  FAILED: 'task.failed',
  CANCELLED: 'task.cancelled',
} as const;

export type CallbackEventType = (typeof CALLBACK_EVENT_TYPES)[keyof typeof CALLBACK_EVENT_TYPES];

/** The body POSTed to the callback URL (Standard Webhooks payload: type, timestamp, data). */
export interface CallbackEvent {
  readonly type: CallbackEventType;
  /** When the task ended (its `finishedAt`). */
  readonly timestamp: string;
  /** The task view as `GET /tasks/{id}` returns it at the moment of the attempt. */
  readonly data: TaskView;
}

/** A finished task, as a delivery reads it. */
export type FinishedTask = Task & { readonly finishedAt: string; readonly status: keyof typeof CALLBACK_EVENT_TYPES };

/**
 * The `webhook-id` of a task's terminal event: the same on every attempt (receivers deduplicate on it),
 * a new one when a redriven task ends again (a new `finishedAt`).
 */
export const callbackEventId = (task: Pick<Task, 'taskId'>, finishedAt: string): string =>
  `msg_${task.taskId.replaceAll('-', '')}_${Date.parse(finishedAt)}`;

/** The event of `task`'s end, its `data` the view `GET /tasks/{id}` answers (`shared/task-data-view.ts`). */
function callbackEvent(task: FinishedTask, view: TaskView): CallbackEvent {
  return { type: CALLBACK_EVENT_TYPES[task.status], timestamp: task.finishedAt, data: view };
}

/** The signed request: Standard Webhooks headers, one signature per signing key. */
export function signedCallbackRequest(
  task: FinishedTask,
  view: TaskView,
  keys: readonly Buffer[],
  now: Date,
): { readonly url: string; readonly headers: Record<string, string>; readonly body: string } {
  const id = callbackEventId(task, task.finishedAt);
  const timestamp = Math.floor(now.getTime() / 1000);
  const body = JSON.stringify(callbackEvent(task, view));
  return {
    url: task.callback?.url ?? '',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'offload-callbacks',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(keys, id, timestamp, body),
    },
    body,
  };
}
