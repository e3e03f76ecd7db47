import { BATCH_LIMITS } from '../../shared/api-routes.js';
import { ValidationError } from '../../shared/errors.js';
import type { Clock, TaskStore } from '../../shared/ports.js';
import { isExpired, type TaskView } from '../../shared/task.js';
import type { TaskData } from '../../shared/task-data.js';
import { taskViewOf } from '../../shared/task-data-view.js';
import * as z from '../../shared/zod.js';
import { isWellFormedTaskId } from './get-task.js';
import { LIST_PAGE_MAX_BYTES } from './list-tasks.js';
import { IdsQuery } from './schemas.js';
import { issuesToDetails } from './validation.js';

export interface GetTasksByIdsDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
  /** Where results too large for the item are: a view links them as `GET /tasks/{id}` does. @default none */
  readonly taskData?: TaskData;
}

/** `GET /tasks?ids=`: the caller's tasks among the ids, in the order asked; `nextIds` when the answer had to stop short. */
export interface TasksByIds {
  readonly tasks: TaskView[];
  /** Ids not answered yet because the response reached its size limit: ask for them again. */
  readonly nextIds?: string[];
}

/** Reads in flight at once: 100 ids do not open 100 connections to the table. */
const READS_IN_FLIGHT = 10;

/**
 * The caller's tasks among up to BATCH_LIMITS.ids ids, each read exactly as `GET /tasks/{id}` reads
 * one (an owner-scoped, strongly consistent query): another owner's id, an unknown, expired or malformed
 * one is simply absent, and costs what a missing one costs. Views carry their results, so the JSON is
 * kept under LIST_PAGE_MAX_BYTES: past it the answer stops and `nextIds` lists what is left.
 */
export async function getTasksByIds(
  input: { ownerId: string; query: Readonly<Record<string, string | undefined>> },
  deps: GetTasksByIdsDeps,
): Promise<TasksByIds> {
  const ids = parseIds(input.query);
  const tasks: TaskView[] = [];
  let bytes = 0;
  for (let start = 0; start < ids.length; start += READS_IN_FLIGHT) {
    const chunk = ids.slice(start, start + READS_IN_FLIGHT);
    const found = await Promise.all(
      chunk.map((taskId) =>
        isWellFormedTaskId(taskId) ? deps.store.get(taskId, { ownerId: input.ownerId }) : undefined,
      ),
    );
    const now = deps.clock().getTime();
    for (const [offset, task] of found.entries()) {
      // The comparison stays as a second line of defence for stores that ignore the owner option.
      if (!task || task.ownerId !== input.ownerId || isExpired(task, now)) continue;
      const view = await taskViewOf(task, deps);
      bytes += Buffer.byteLength(JSON.stringify(view)) + 1;
      if (bytes > LIST_PAGE_MAX_BYTES && tasks.length > 0) return { tasks, nextIds: ids.slice(start + offset) };
      tasks.push(view);
    }
  }
  return { tasks };
}

/** 1 to BATCH_LIMITS.ids comma-separated ids, each at most once (in the order first asked); nothing else in the query. */
function parseIds(query: Readonly<Record<string, string | undefined>>): string[] {
  const parsed = z.safeParse(IdsQuery, query);
  if (!parsed.success) {
    throw new ValidationError(
      'InvalidQuery',
      '`ids` takes comma-separated task ids and cannot be combined with status, limit or cursor.',
      issuesToDetails(parsed.error.issues),
    );
  }
  const listed = parsed.data.ids.split(',');
  if (listed.some((id) => id === '')) {
    throw new ValidationError('InvalidQuery', '`ids` has an empty entry.', [
      { path: 'ids', message: 'comma-separated task ids, none empty' },
    ]);
  }
  const ids = [...new Set(listed)];
  if (ids.length > BATCH_LIMITS.ids) {
    throw new ValidationError('InvalidQuery', `\`ids\` takes at most ${BATCH_LIMITS.ids} task ids.`, [
      { path: 'ids', message: `at most ${BATCH_LIMITS.ids} ids, got ${ids.length}` },
    ]);
  }
  return ids;
}
