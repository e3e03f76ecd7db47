import type { $ZodType, input } from 'zod/v4/core';
import type { TaskView as ApiTaskView } from '../shared/task.js';

/**
 * Types only: the client never loads the task handlers, it reads their payload and result types
 * from the task module (`OffloadClient<typeof taskTypes>`) so that a wrong payload is a compile error.
 */

export type { TaskPriority } from '../shared/lanes.js';
export type { TaskStatus } from '../shared/task.js';

/** A task definition as the client sees it: a payload schema and a `run` whose result comes back as JSON. */
export interface TaskTypeShape {
  readonly payload: $ZodType;
  run(...args: never[]): Promise<unknown>;
}

/** The task types a client submits to: a task module's `taskTypes`, as a type. */
export type TaskTypeMap = Readonly<Record<string, TaskTypeShape>>;

/** What `submit` accepts for a type: the schema's input (defaults may be left out). */
export type PayloadOf<Types extends TaskTypeMap, Type extends keyof Types> = input<Types[Type]['payload']>;

/** What `result()` resolves with for a type: the awaited return of its `run`. */
export type ResultOf<Types extends TaskTypeMap, Type extends keyof Types> = Types[Type]['run'] extends (
  ...args: never[]
) => Promise<infer Result>
  ? Awaited<Result>
  : never;

export type { TaskError, TaskProgress } from '../shared/task.js';

/** A task as the API shows it (`GET /tasks/{taskId}`), with the result typed for its task type. */
export type TaskView<Result = unknown> = Omit<ApiTaskView, 'result'> & {
  /** Set once SUCCEEDED. */
  readonly result?: Result;
};

/** A page of your schedules, by name (`client.schedules.list()`). */
export type { ScheduleListing, ScheduleSummaryView as ScheduleSummary, ScheduleView } from '../shared/schedule.js';
/** A task in a listing: its view without the result (`client.get(id)` has that). */
export type { TaskListing, TaskSummaryView as TaskSummary } from '../shared/task.js';
