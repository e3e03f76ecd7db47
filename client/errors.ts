import type { ErrorDetail } from '../shared/errors.js';
import type { TaskView } from './task-types.js';

/** Base of every error the offload client raises on purpose. `code` is stable; `message` is for people. */
export class OffloadClientError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OffloadClientError';
    this.code = code;
  }
}

/** One entry of an API error's `details`: the field (a dotted path) and what is wrong with it. */
export type ApiErrorDetail = ErrorDetail;

/** The API answered with an error status: `{"error": {code, message, details?, requestId}}`. */
export class OffloadApiError extends OffloadClientError {
  readonly status: number;
  readonly details: readonly ApiErrorDetail[];
  /** Quote it when reporting a problem; absent when API Gateway answered before the API ran. */
  readonly requestId?: string;

  constructor(
    status: number,
    error: { code: string; message: string; details?: readonly ApiErrorDetail[]; requestId?: string },
  ) {
    super(error.code, error.message);
    this.name = 'OffloadApiError';
    this.status = status;
    this.details = error.details ?? [];
    this.requestId = error.requestId;
  }
}

/** An error about one task: its id and the last view of it the client saw. */
export abstract class TaskOutcomeError extends OffloadClientError {
  readonly taskId: string;
  readonly task: TaskView;

  constructor(code: string, message: string, task: TaskView) {
    super(code, message);
    this.taskId = task.taskId;
    this.task = task;
  }
}

/** The task ended FAILED: `code` and `message` are the task's error, as its handler or the platform set it. */
export class TaskFailedError extends TaskOutcomeError {
  constructor(task: TaskView) {
    super(task.error?.code ?? 'Failed', task.error?.message ?? `Task ${task.taskId} failed.`, task);
    this.name = 'TaskFailedError';
  }
}

/** The task ended CANCELLED. */
export class TaskCancelledError extends TaskOutcomeError {
  constructor(task: TaskView) {
    super('Cancelled', `Task ${task.taskId} was cancelled.`, task);
    this.name = 'TaskCancelledError';
  }
}

/** `result({ timeoutMs })` gave up waiting; the task itself goes on. `task` is the last view seen. */
export class TaskWaitTimeoutError extends TaskOutcomeError {
  constructor(task: TaskView, timeoutMs: number) {
    super('WaitTimeout', `Task ${task.taskId} is still ${task.status} after ${timeoutMs} ms.`, task);
    this.name = 'TaskWaitTimeoutError';
  }
}
