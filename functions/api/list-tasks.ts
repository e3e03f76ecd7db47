import { ValidationError } from '../../shared/errors.js';
import type { Clock, ListCursor, TaskStore } from '../../shared/ports.js';
import { type TaskView, toTaskView } from '../../shared/task.js';
import * as z from '../../shared/zod.js';
import { ListQuery } from './schemas.js';
import { issuesToDetails } from './validation.js';

export interface ListTasksDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
}

export interface TaskListing {
  readonly tasks: readonly TaskView[];
  readonly nextCursor?: string;
}

/** The caller's own tasks, newest first, a page at a time. */
export async function listTasks(
  input: { ownerId: string; query: Readonly<Record<string, string | undefined>> },
  deps: ListTasksDeps,
): Promise<TaskListing> {
  const parsed = ListQuery.safeParse(input.query);
  if (!parsed.success) {
    throw new ValidationError('InvalidQuery', 'The query string is not valid.', issuesToDetails(parsed.error.issues));
  }
  const { status, limit, cursor } = parsed.data;
  const page = await deps.store.listByOwner(input.ownerId, {
    limit,
    status,
    cursor: cursor === undefined ? undefined : decodeCursor(cursor, input.ownerId),
    nowSeconds: Math.floor(deps.clock().getTime() / 1000),
  });
  return {
    tasks: page.tasks.map(toTaskView),
    ...(page.cursor && { nextCursor: encodeCursor(page.cursor) }),
  };
}

const CursorSchema = z.record(z.string(), z.string());

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
  if (cursor.ownerId !== ownerId) throw invalid();
  return cursor;
}
