import type { Log } from '../ports.js';
import type { Task } from '../task.js';
import type { CallbackQueue } from './ports.js';

/**
 * After a terminal write: queues the delivery of the task's callback, if it has one. A task without a
 * callback costs nothing more. The write already made the callback pending (a new `finishedAt`), so a
 * process that dies before this send, or a send that fails, loses nothing: the recovery sweep finds the
 * pending callback and sends its message. A failure here is therefore logged, not thrown: the terminal
 * state is recorded, and the caller's outcome must not depend on the delivery queue.
 */
export async function sendCallback(
  task: Pick<Task, 'taskId' | 'callback'>,
  queue: CallbackQueue | undefined,
  log: Log | undefined,
): Promise<void> {
  if (!task.callback || !queue) return;
  try {
    await queue.enqueue({ taskId: task.taskId });
  } catch (error) {
    log?.warn('could not queue the callback; the recovery sweep will send it', { taskId: task.taskId, error });
  }
}
