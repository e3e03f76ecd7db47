import type { $ZodType, output } from 'zod/v4/core';

/** What a task handler gets besides its payload. */
export interface TaskContext {
  readonly taskId: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /**
   * Fires shortly before the worker's deadline (stop, the attempt is retried) or when the task's
   * owner cancels it (stop, the task ends CANCELLED).
   */
  readonly signal: AbortSignal;
  /** Reports progress (percent 0-100) shown in GET /tasks/{id}; throttled to one write a second. */
  progress(percent: number, message?: string): void;
  /** Files the task writes for its owner, listed in its view with download URLs once it finishes. */
  readonly artifacts: TaskArtifacts;
}

/** Where a task writes files: the task data bucket, under its owner's prefix and its attempt. */
export interface TaskArtifacts {
  /**
   * Stores `data` as the file `name` (letters, digits, `.`, `_`, `-`; at most 128) and resolves once it
   * is stored; a second put of a name replaces it. Rejects with PermanentError `InvalidArtifact` for a
   * bad name or content type, more files than settings.taskData.maxArtifacts or a file over
   * maxObjectBytes (the task then fails at once if the handler does not catch it), and with a retryable
   * error when the bucket cannot be reached. Files of an attempt that is retried or cancelled are deleted.
   */
  put(name: string, data: string | Uint8Array, contentType?: string): Promise<void>;
}

/**
 * A task type: the schema its payload must match and the function that runs it. The schema is
 * checked when the task is submitted (400 on mismatch) and again before it runs. Write it with
 * shared/zod.ts (the `zod/mini` API): classic `zod` would cost every function's cold start.
 */
export interface TaskDefinition<Schema extends $ZodType = $ZodType, Result = unknown> {
  readonly payload: Schema;
  /** @default the deployment's default (3 unless configured) */
  readonly maxAttempts?: number;
  /**
   * The lane its tasks run in: a queue and worker with a timeout, memory and concurrency of their own
   * (a deployment's `lanes`; it must have this one). @default the default lane (`settings.worker`)
   */
  readonly lane?: string;
  /**
   * At most this many tasks of this type of one owner RUNNING at once (a whole number, at least 1),
   * counted apart from the deployment's `fairness.ownerConcurrency`; the rest wait QUEUED, spending no
   * attempt. For work that is heavy per owner: an export, a call to the owner's own rate-limited API.
   * @default the deployment's limit (none unless `fairness.ownerConcurrency` is on)
   */
  readonly maxRunningPerOwner?: number;
  /** Throw PermanentError to fail at once; any other error is retried. The result must be JSON. */
  run(payload: output<Schema>, ctx: TaskContext): Promise<Result>;
}

/** Identity function that lets TypeScript infer the payload type of `run` from the schema. */
export const defineTask = <Schema extends $ZodType, Result>(
  definition: TaskDefinition<Schema, Result>,
): TaskDefinition<Schema, Result> => definition;

/**
 * What a task module exports as `taskTypes`: names mapped to `defineTask(...)` results. The API,
 * the worker and the client's types all read the task types from it.
 */
export type TaskTypes = Readonly<Record<string, TaskDefinition>>;

/** Looks up task types by name; a Map so that names like `__proto__` or `toString` are just unknown. */
export type TaskRegistry = ReadonlyMap<string, TaskDefinition>;
