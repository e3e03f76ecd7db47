import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ValidationError } from '../../shared/errors.js';
import type { Clock, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import type { TaskRegistry } from '../tasks/define-task.js';
import { issuesToDetails } from './validation.js';

export interface SubmitTaskInput {
  readonly ownerId: string;
  readonly type: string;
  readonly payload: unknown;
  readonly delaySeconds?: number;
}

export interface SubmitTaskDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly defaultMaxAttempts: number;
  readonly ttlDays: number;
  /** @default crypto.randomUUID: 122 random bits, so ids cannot be guessed */
  readonly newTaskId?: () => string;
}

/**
 * Records the task QUEUED, then enqueues it. A task is accepted only once both writes succeed; if
 * the enqueue fails the record is removed again, so a caller who got an error has nothing half
 * written and may simply retry.
 */
export async function submitTask(input: SubmitTaskInput, deps: SubmitTaskDeps): Promise<Task> {
  const definition = deps.registry.get(input.type);
  if (!definition) {
    const known = [...deps.registry.keys()].join(', ');
    throw new ValidationError('UnknownTaskType', `Unknown task type "${input.type}". Known types: ${known}.`, [
      { path: 'type', message: `must be one of: ${known}` },
    ]);
  }
  const parsed = definition.payload.safeParse(input.payload);
  if (!parsed.success) {
    throw new ValidationError(
      'InvalidPayload',
      `The payload does not match task type "${input.type}".`,
      issuesToDetails(parsed.error.issues, 'payload'),
    );
  }

  const now = deps.clock();
  const timestamp = now.toISOString();
  const task: Task = {
    taskId: (deps.newTaskId ?? randomUUID)(),
    ownerId: input.ownerId,
    type: input.type,
    status: TaskStatus.Queued,
    payload: input.payload,
    payloadHash: sha256Hex(canonicalJson({ type: input.type, payload: input.payload })),
    attempt: 0,
    maxAttempts: definition.maxAttempts ?? deps.defaultMaxAttempts,
    createdAt: timestamp,
    updatedAt: timestamp,
    expiresAt: Math.floor(now.getTime() / 1000) + deps.ttlDays * 86_400,
  };

  await deps.store.create(task);
  try {
    await deps.queue.enqueue({ taskId: task.taskId, type: task.type }, { delaySeconds: input.delaySeconds });
  } catch (error) {
    await deps.store.discard(task.taskId).catch((discardError: unknown) => {
      // The recovery sweep finds a QUEUED task that has no message; log so an operator can see why.
      deps.log.error('could not discard a task whose enqueue failed', { taskId: task.taskId, error: discardError });
    });
    throw error;
  }
  deps.log.info('task submitted', { taskId: task.taskId, type: task.type });
  return task;
}
