import type { z } from 'zod';
import type { taskTypes } from '../functions/tasks/registry.js';

/**
 * Types only: the client never loads the task handlers, it reads their payload and result types
 * from the registry so that a wrong payload is a compile error.
 */

export type TaskStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A task definition as the client sees it: a payload schema and a `run` whose result comes back as JSON. */
export interface TaskTypeShape {
  readonly payload: z.ZodType;
  run(...args: never[]): Promise<unknown>;
}

/** The task types a client submits to: by default those of functions/tasks/registry.ts. */
export type TaskTypeMap = Readonly<Record<string, TaskTypeShape>>;

export type DefaultTaskTypes = typeof taskTypes;

/** What `submit` accepts for a type: the schema's input (defaults may be left out). */
export type PayloadOf<Types extends TaskTypeMap, Type extends keyof Types> = z.input<Types[Type]['payload']>;

/** What `result()` resolves with for a type: the awaited return of its `run`. */
export type ResultOf<Types extends TaskTypeMap, Type extends keyof Types> = Awaited<ReturnType<Types[Type]['run']>>;

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

export interface TaskProgress {
  readonly percent: number;
  readonly message?: string;
}

/** A task as the API shows it (`GET /tasks/{taskId}`). */
export interface TaskView<Result = unknown> {
  readonly taskId: string;
  readonly type: string;
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly progress?: TaskProgress;
  /** Set once SUCCEEDED. */
  readonly result?: Result;
  /** Set when FAILED. */
  readonly error?: TaskError;
  /** Why the previous attempt failed, while a retry is pending. */
  readonly lastError?: TaskError;
  /** A RUNNING task was asked to stop. */
  readonly cancelRequested?: true;
}

export interface TaskListing {
  readonly tasks: readonly TaskView[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}
