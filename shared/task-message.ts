import type { TaskMessage } from './task.js';
import * as z from './zod.js';

const TaskMessageSchema = z.object({
  taskId: z.string().check(z.minLength(1), z.maxLength(128)),
  type: z.string().check(z.maxLength(64)),
});

export const serializeTaskMessage = (message: TaskMessage): string =>
  JSON.stringify({ taskId: message.taskId, type: message.type });

/** The message body as sent by the API, or undefined for anything else (not JSON, wrong shape). */
export function parseTaskMessage(body: string): TaskMessage | undefined {
  try {
    const parsed = TaskMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
