import type { Task, TaskMessage } from './task.js';
import * as z from './zod.js';

const TaskMessageSchema = z.object({
  taskId: z.string().check(z.minLength(1), z.maxLength(128)),
  type: z.optional(z.string().check(z.maxLength(64))),
  // SQS takes at most 128 characters as a MessageGroupId.
  group: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  waits: z.optional(z.int().check(z.minimum(0), z.maximum(10_000))),
  waitUntil: z.optional(z.int().check(z.minimum(0))),
  waitSince: z.optional(z.int().check(z.minimum(0))),
});

export const serializeTaskMessage = (message: TaskMessage): string =>
  JSON.stringify({
    taskId: message.taskId,
    type: message.type,
    group: message.group,
    waits: message.waits,
    waitUntil: message.waitUntil,
    waitSince: message.waitSince,
  });

/**
 * The message that drives `task`: every path that sends one (submit, replay, recovery sweep, redrive)
 * builds it here, so none of them loses the owner's group.
 */
export const taskMessageOf = (task: Pick<Task, 'taskId' | 'type' | 'ownerGroup'>): TaskMessage => ({
  taskId: task.taskId,
  type: task.type,
  ...(task.ownerGroup && { group: task.ownerGroup }),
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
