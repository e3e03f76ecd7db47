import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ConflictError, ValidationError } from '../../shared/errors.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { Clock, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { hashOwnerId, type TaskMetrics } from '../../shared/task-metrics.js';
import * as z from '../../shared/zod.js';
import type { TaskRegistry } from '../tasks/define-task.js';
import { issuesToDetails } from './validation.js';

export interface SubmitTaskInput {
  readonly ownerId: string;
  readonly type: string;
  readonly payload: unknown;
  readonly delaySeconds?: number;
  /** The caller's key for safe retries: same owner + key + body → the same task. */
  readonly idempotencyKey?: string;
}

export interface SubmitResult {
  readonly task: Task;
  /** False when an Idempotency-Key replay returned the task recorded earlier. */
  readonly created: boolean;
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
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
}

/**
 * Records the task QUEUED, then enqueues it. A task is accepted only once both writes succeed; if
 * the enqueue fails the record is removed again, so a caller who got an error has nothing half
 * written and may simply retry.
 *
 * With an Idempotency-Key the task id is derived from owner + key, so the conditional put itself
 * detects a replay: no extra table, no extra write on the happy path.
 */
export async function submitTask(input: SubmitTaskInput, deps: SubmitTaskDeps): Promise<SubmitResult> {
  const definition = deps.registry.get(input.type);
  if (!definition) {
    const known = [...deps.registry.keys()].join(', ');
    throw new ValidationError('UnknownTaskType', `Unknown task type "${input.type}". Known types: ${known}.`, [
      { path: 'type', message: `must be one of: ${known}` },
    ]);
  }
  const parsed = z.safeParse(definition.payload, input.payload);
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
    taskId: input.idempotencyKey
      ? taskIdFromKey(input.ownerId, input.idempotencyKey)
      : (deps.newTaskId ?? randomUUID)(),
    ownerId: input.ownerId,
    type: input.type,
    status: TaskStatus.Queued,
    payload: input.payload,
    payloadHash: sha256Hex(
      canonicalJson({ type: input.type, payload: input.payload, delaySeconds: input.delaySeconds ?? 0 }),
    ),
    ...(input.idempotencyKey && { idempotencyKey: input.idempotencyKey }),
    ...(input.delaySeconds && { delaySeconds: input.delaySeconds }),
    attempt: 0,
    maxAttempts: definition.maxAttempts ?? deps.defaultMaxAttempts,
    createdAt: timestamp,
    updatedAt: timestamp,
    expiresAt: Math.floor(now.getTime() / 1000) + deps.ttlDays * 86_400,
  };

  try {
    await deps.store.create(task, Math.floor(now.getTime() / 1000));
  } catch (error) {
    if (!(error instanceof ConflictError) || !input.idempotencyKey) throw error;
    return { task: await replay(task, input, deps), created: false };
  }
  await enqueueOrDiscard(task, input.delaySeconds, deps);
  deps.log.info('task submitted', { taskId: task.taskId, type: task.type, ownerHash: hashOwnerId(task.ownerId) });
  deps.metrics?.record(TASK_COUNTS.submitted, task.type);
  return { task, created: true };
}

/** The key was used before: the same body gets the same task back, another body is a conflict. */
async function replay(candidate: Task, input: SubmitTaskInput, deps: SubmitTaskDeps): Promise<Task> {
  const existing = await deps.store.get(candidate.taskId);
  if (!existing || existing.ownerId !== candidate.ownerId || existing.payloadHash !== candidate.payloadHash) {
    throw new ConflictError(
      'This Idempotency-Key was already used with a different request body.',
      'IdempotencyKeyReused',
    );
  }
  // Never claimed: its message may be the one whose send failed before, so send again. A second
  // message for the same task is harmless: only one claim can win.
  if (existing.status === TaskStatus.Queued && existing.attempt === 0) {
    await deps.queue.enqueue({ taskId: existing.taskId, type: existing.type }, { delaySeconds: input.delaySeconds });
  }
  deps.log.info('idempotent replay', { taskId: existing.taskId, type: existing.type });
  return existing;
}

async function enqueueOrDiscard(task: Task, delaySeconds: number | undefined, deps: SubmitTaskDeps): Promise<void> {
  try {
    await deps.queue.enqueue({ taskId: task.taskId, type: task.type }, { delaySeconds });
  } catch (error) {
    await deps.store.discard(task.taskId).catch((discardError: unknown) => {
      // The recovery sweep finds a QUEUED task that has no message; log so an operator can see why.
      deps.log.error('could not discard a task whose enqueue failed', { taskId: task.taskId, error: discardError });
    });
    throw error;
  }
}

/**
 * A UUID-shaped id (version 8, "custom") from sha256(owner, key): the same owner and key always
 * map to the same task, and different owners' keys never collide.
 */
export function taskIdFromKey(ownerId: string, idempotencyKey: string): string {
  const bytes = Buffer.from(sha256Hex(`${ownerId}\n${idempotencyKey}`).slice(0, 32), 'hex');
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
