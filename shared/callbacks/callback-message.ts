import * as z from '../zod.js';
import type { CallbackMessage } from './ports.js';

const CallbackMessageSchema = z.object({
  taskId: z.string().check(z.minLength(1), z.maxLength(128)),
});

export const serializeCallbackMessage = (message: CallbackMessage): string =>
  JSON.stringify({ taskId: message.taskId });

/** The message as offload sends it, or undefined for anything else. */
export function parseCallbackMessage(body: string): CallbackMessage | undefined {
  try {
    const parsed = z.safeParse(CallbackMessageSchema, JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
