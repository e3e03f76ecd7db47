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

export interface ApiErrorDetail {
  readonly path: string;
  readonly message: string;
}

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

/** The task ended FAILED: `code` and `message` are the task's error, as its handler or the platform set it. */
export class TaskFailedError extends OffloadClientError {
  readonly taskId: string;
  readonly task: TaskView;

  constructor(task: TaskView) {
    super(task.error?.code ?? 'Failed', task.error?.message ?? `Task ${task.taskId} failed.`);
    this.name = 'TaskFailedError';
    this.taskId = task.taskId;
    this.task = task;
  }
}

/** The task ended CANCELLED. */
export class TaskCancelledError extends OffloadClientError {
  readonly taskId: string;
  readonly task: TaskView;

  constructor(task: TaskView) {
    super('Cancelled', `Task ${task.taskId} was cancelled.`);
    this.name = 'TaskCancelledError';
    this.taskId = task.taskId;
    this.task = task;
  }
}

/** `result({ timeoutMs })` gave up waiting; the task itself goes on. */
export class TaskWaitTimeoutError extends OffloadClientError {
  readonly taskId: string;
  /** The last view seen. */
  readonly task: TaskView;

  constructor(task: TaskView, timeoutMs: number) {
    super('WaitTimeout', `Task ${task.taskId} is still ${task.status} after ${timeoutMs} ms.`);
    this.name = 'TaskWaitTimeoutError';
    this.taskId = task.taskId;
    this.task = task;
  }
}
