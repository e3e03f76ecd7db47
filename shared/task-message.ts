import { DEFAULT_LANE, DEFAULT_PRIORITY, routeOf, TASK_PRIORITIES } from './lanes.js';
import type { Task, TaskMessage } from './task.js';
import * as z from './zod.js';

/** Waits a message counts at most: past it the count stays (the backoff is long capped by then). */
export const MAX_WAITS = 10_000;

const TaskMessageSchema = z.object({
  taskId: z.string().check(z.minLength(1), z.maxLength(128)),
  type: z.optional(z.string().check(z.maxLength(64))),
  lane: z.optional(z.string().check(z.maxLength(64))),
  priority: z.optional(z.enum(TASK_PRIORITIES)),
  // SQS takes at most 128 characters as a MessageGroupId.
  group: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  waits: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_WAITS))),
  waitUntil: z.optional(z.int().check(z.minimum(0))),
  waitSince: z.optional(z.int().check(z.minimum(0))),
});

/**
 * The body: the task id and, for logs, the type; a lane and priority only when they are not the
 * default ones, so a default task's message stays as small as before lanes. They are informative
 * too (the dead-letter handler's metrics): the stored task decides where a message is sent.
 */
export const serializeTaskMessage = (message: TaskMessage): string =>
  JSON.stringify({
    taskId: message.taskId,
    type: message.type,
    ...(message.lane !== undefined && message.lane !== DEFAULT_LANE && { lane: message.lane }),
    ...(message.priority !== undefined && message.priority !== DEFAULT_PRIORITY && { priority: message.priority }),
    group: message.group,
    waits: message.waits,
    waitUntil: message.waitUntil,
    waitSince: message.waitSince,
  });

/**
 * The message body as sent by the API, or undefined for anything else (not JSON, wrong shape). A
 * task id is all that is needed: the stored task says what runs, so a body without `type` still
 * drives its task instead of leaving it to the recovery sweep.
 */
export function parseTaskMessage(body: string): TaskMessage | undefined {
  try {
    const parsed = TaskMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The message that drives a stored task, addressed to its lane and priority, in its owner's group:
 * every path that sends one from the task's record (submit, replay, recovery sweep, redrive, a schedule's
 * firing) builds it here, so none of them loses the route or the group. (The worker's wait and wake-up
 * messages carry the route and group of the message or waiter they replace.)
 */
export const taskMessageOf = (
  task: Pick<Task, 'taskId' | 'type' | 'lane' | 'priority' | 'ownerGroup'>,
): TaskMessage => ({
  taskId: task.taskId,
  type: task.type,
  ...routeOf(task),
  ...(task.ownerGroup && { group: task.ownerGroup }),
});
