import { ValidationError } from '../../shared/errors.js';
import type { Clock, ListCursor, TaskStore, TaskSummary } from '../../shared/ports.js';
import { type TaskListing, type TaskSummaryView, toTaskSummaryView } from '../../shared/task.js';
import { ownerIndexKey, TASK_TABLE } from '../../shared/task-table.js';
import { epochSeconds } from '../../shared/time.js';
import * as z from '../../shared/zod.js';
import { ListQuery } from './schemas.js';
import { issuesToDetails } from './validation.js';

export interface ListTasksDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
}

/**
 * The JSON of a page's tasks stays under this many bytes: a page ends early (with a cursor) rather
 * than grow towards Lambda's 6 MB response limit, whatever its tasks' error and progress messages hold.
 */
export const LIST_PAGE_MAX_BYTES = 1024 * 1024;

/** The caller's own tasks, newest first, a page of summaries at a time. */
export async function listTasks(
  input: { ownerId: string; query: Readonly<Record<string, string | undefined>> },
  deps: ListTasksDeps,
): Promise<TaskListing> {
  const parsed = z.safeParse(ListQuery, input.query);
  if (!parsed.success) {
    throw new ValidationError('InvalidQuery', 'The query string is not valid.', issuesToDetails(parsed.error.issues));
  }
  const { status, limit, cursor } = parsed.data;
  const page = await deps.store.listByOwner(input.ownerId, {
    limit,
    status,
    cursor: cursor === undefined ? undefined : decodeCursor(cursor, input.ownerId),
    nowSeconds: epochSeconds(deps.clock()),
  });
  const { tasks, cutAfter } = withinBudget(page.tasks);
  const next = cutAfter ? ownerIndexKey(cutAfter) : page.cursor;
  return { tasks, ...(next && { nextCursor: encodeCursor(next) }) };
}

/** The page's first tasks whose JSON fits the byte budget (one at least), and the last one kept if some were left. */
function withinBudget(page: readonly TaskSummary[]): { tasks: TaskSummaryView[]; cutAfter?: TaskSummary } {
  const tasks: TaskSummaryView[] = [];
  let bytes = 0;
  for (const [index, task] of page.entries()) {
    const view = toTaskSummaryView(task);
    bytes += Buffer.byteLength(JSON.stringify(view)) + 1;
    if (bytes > LIST_PAGE_MAX_BYTES && tasks.length > 0) return { tasks, cutAfter: page[index - 1] };
    tasks.push(view);
  }
  return { tasks };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Exactly the owner index key the store hands back (shared/task-table.ts `ownerIndexKey`): anything
 * else would reach DynamoDB as an `ExclusiveStartKey` it rejects, a 500 for what is the caller's error.
 */
const CursorSchema = z.strictObject({
  [TASK_TABLE.partitionKey]: z.string().check(z.regex(UUID)),
  [TASK_TABLE.ownerIndex.partitionKey]: z.string().check(z.minLength(1)),
  [TASK_TABLE.ownerIndex.sortKey]: z.iso.datetime(),
});

const encodeCursor = (cursor: ListCursor): string => Buffer.from(JSON.stringify(cursor)).toString('base64url');

/** A cursor is only good for the owner it was issued to: anything else is a bad request, never another's page. */
function decodeCursor(text: string, ownerId: string): ListCursor {
  const invalid = () => new ValidationError('InvalidCursor', 'The cursor is not one this API issued to you.');
  let cursor: z.infer<typeof CursorSchema>;
  try {
    cursor = CursorSchema.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw invalid();
  }
  if (cursor[TASK_TABLE.ownerIndex.partitionKey] !== ownerId) throw invalid();
  return cursor;
}
