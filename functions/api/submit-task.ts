import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ConflictError, DependencyUnavailableError, RateLimitedError, ValidationError } from '../../shared/errors.js';
import type { SubmitRate, SubmitRateLimiter } from '../../shared/fair-share.js';
import { FAIR_SHARE_COUNTS, TASK_COUNTS, taskLogFields } from '../../shared/metric-names.js';
import type { OwnerGroup } from '../../shared/owner-group.js';
import type { Clock, CreateResult, DiscardResult, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { expiresAtAfter, MAX_DELAY_SECONDS, secondsUntil } from '../../shared/time.js';
import * as z from '../../shared/zod.js';
import type { TaskDefinition, TaskRegistry } from '../tasks/define-task.js';
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
  /**
   * The owner's keyed group, recorded with the task and sent as its messages' MessageGroupId (fair
   * queues). The handler sets it once the deployment key is loaded. @default tasks carry no group
   */
  readonly ownerGroup?: OwnerGroup;
  /** The per-owner submit rate limit (settings.fairness.submitRate), when it is on. @default no limit */
  readonly submitRate?: { readonly limiter: SubmitRateLimiter; readonly rate: SubmitRate };
}

/**
 * Records the task QUEUED, then enqueues it. A task is accepted only once both writes succeed. If
 * the enqueue fails the record is removed again (when nothing has taken it since), so a caller who
 * got an error has, but for a double fault, nothing half written and may retry.
 *
 * With an Idempotency-Key the task id is derived from owner + key, so the conditional put itself
 * detects a replay: no extra table, no extra write on the happy path.
 */
export async function submitTask(input: SubmitTaskInput, deps: SubmitTaskDeps): Promise<SubmitResult> {
  const definition = checkSubmission(input, deps.registry);
  await takeSubmitAllowance(input.ownerId, 1, deps);
  const recorded = await recordSubmission(input, definition, deps);
  if (recorded.created) {
    await enqueueOrDiscard(recorded.task, deps);
    logSubmitted(recorded.task, deps);
  }
  return recorded;
}

/** The task type and the payload checked against it: the type's definition, or a ValidationError. */
export function checkSubmission(
  input: Pick<SubmitTaskInput, 'type' | 'payload'>,
  registry: TaskRegistry,
): TaskDefinition {
  const definition = registry.get(input.type);
  if (!definition) {
    const known = [...registry.keys()].join(', ');
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
  return definition;
}

/**
 * Takes `count` submits from the owner's rate limit, when one is on, before anything is written: over
 * it, RateLimitedError (429) and nothing recorded. A batch larger than a whole window's allowance can
 * never pass, so it is a 400 rather than a 429 its client would retry for ever.
 */
export async function takeSubmitAllowance(ownerId: string, count: number, deps: SubmitTaskDeps): Promise<void> {
  if (!deps.submitRate || count === 0) return;
  const { limiter, rate } = deps.submitRate;
  if (count > rate.maxTasks) {
    throw new ValidationError(
      'InvalidRequest',
      `${count} tasks are more than the ${rate.maxTasks} an owner may submit in ${rate.windowSeconds} s: send at most ${rate.maxTasks} at once.`,
      [{ path: 'tasks', message: `at most ${rate.maxTasks} items under this deployment's rate limit` }],
    );
  }
  // Keyed by the owner's group, so the fair-share table holds no owner id; without one (tests), by the id.
  const decision = await limiter.take(deps.ownerGroup?.(ownerId) ?? ownerId, count, rate, deps.clock());
  if (decision.allowed) return;
  deps.metrics?.record(FAIR_SHARE_COUNTS.submitRateLimited, '');
  throw new RateLimitedError(
    `Over the submit rate limit of ${rate.maxTasks} tasks per ${rate.windowSeconds} s; retry after ${decision.retryAfterSeconds} s.`,
    decision.retryAfterSeconds,
  );
}

/**
 * Writes the task, or finds the one an earlier request with the same key wrote (a replay: its message
 * is sent again if it was never claimed). A created task is not enqueued yet: the caller sends its
 * message, alone or in a batch, and discards the record if that fails.
 */
export async function recordSubmission(
  input: SubmitTaskInput,
  definition: TaskDefinition,
  deps: SubmitTaskDeps,
): Promise<SubmitResult> {
  const taskId = input.idempotencyKey
    ? taskIdFromKey(input.ownerId, input.idempotencyKey)
    : (deps.newTaskId ?? randomUUID)();
  // A replay can race with the request that is discarding the same key's task: one more round then finds the id free.
  for (let round = 0; ; round++) {
    const task = newTask(taskId, input, definition.maxAttempts ?? deps.defaultMaxAttempts, deps);
    const created = await createOrTakeBack(task, deps);
    if (created.created) return { task, created: true };
    // A random id is never taken (122 bits); only a key's id can be.
    if (!input.idempotencyKey) throw new ConflictError(`Task id ${taskId} is already taken.`);
    const replayed = await replay(created.existing, task, deps);
    if (replayed) return { task: replayed, created: false };
    if (round === 1) throw new DependencyUnavailableError('task table');
  }
}

/** The line and the count of a task accepted: recorded and enqueued. */
export function logSubmitted(task: Task, deps: SubmitTaskDeps): void {
  // The owner's keyed hash is on every line of the request (the API handler adds it).
  deps.log.info('task submitted', taskLogFields(task));
  deps.metrics?.record(TASK_COUNTS.submitted, task.type);
}

function newTask(taskId: string, input: SubmitTaskInput, maxAttempts: number, deps: SubmitTaskDeps): Task {
  const now = deps.clock();
  const timestamp = now.toISOString();
  return {
    taskId,
    ownerId: input.ownerId,
    type: input.type,
    status: TaskStatus.Queued,
    payload: input.payload,
    payloadHash: sha256Hex(
      canonicalJson({ type: input.type, payload: input.payload, delaySeconds: input.delaySeconds ?? 0 }),
    ),
    ...(input.idempotencyKey && { idempotencyKey: input.idempotencyKey }),
    ...(deps.ownerGroup && { ownerGroup: deps.ownerGroup(input.ownerId) }),
    // Stored so a duplicate message or a re-enqueue waits for the rest of the delay instead of running early.
    ...(input.delaySeconds && { delaySeconds: input.delaySeconds, runAtMs: now.getTime() + input.delaySeconds * 1000 }),
    attempt: 0,
    maxAttempts,
    createdAt: timestamp,
    updatedAt: timestamp,
    expiresAt: expiresAtAfter(now, deps.ttlDays),
    // Written with the item: the creation's own id, so only this request may take it back (discard).
    lastWriteId: randomUUID(),
  };
}

/**
 * The conditional put. When it fails with an error, its request may still have been applied (the
 * reply was lost): the record is taken back before the error reaches the caller as a 503.
 */
async function createOrTakeBack(task: Task, deps: SubmitTaskDeps): Promise<CreateResult> {
  try {
    return await deps.store.create(task, deps.clock().getTime());
  } catch (error) {
    await discard(task, deps);
    throw error;
  }
}

/**
 * The key was used before: the same body gets the same task back, another body is a conflict.
 * Undefined when the task vanished meanwhile (its own request discarded it): the key is free again.
 */
async function replay(existing: Task, candidate: Task, deps: SubmitTaskDeps): Promise<Task | undefined> {
  if (existing.ownerId !== candidate.ownerId || existing.payloadHash !== candidate.payloadHash) {
    throw new ConflictError(
      'This Idempotency-Key was already used with a different request body.',
      'IdempotencyKeyReused',
    );
  }
  // Never claimed: its message may be the one whose send failed before, so send again (a second
  // message is harmless: only one claim can win). First promise the task to this request, so the
  // request that created it can no longer discard it.
  if (existing.status === TaskStatus.Queued && existing.attempt === 0) {
    const now = deps.clock();
    // Not markable: claimed meanwhile (return it as it is now) or discarded (the key is free: undefined).
    if (!(await deps.store.markReplayed(existing.taskId, now))) return deps.store.get(existing.taskId);
    const delaySeconds =
      existing.runAtMs && existing.runAtMs > now.getTime()
        ? Math.min(MAX_DELAY_SECONDS, secondsUntil(existing.runAtMs, now.getTime()))
        : undefined;
    await deps.queue.enqueue(taskMessageOf(existing), { delaySeconds });
  }
  deps.log.info('idempotent replay', taskLogFields(existing));
  return existing;
}

/**
 * Sends the task's message. When the send fails, the record is discarded, unless it has moved on:
 * a worker claimed it (so the message was delivered after all: the send's reply was lost) or a
 * replay promised it to another request. Then the task is accepted after all.
 */
export async function enqueueOrDiscard(task: Task, deps: SubmitTaskDeps): Promise<void> {
  try {
    await deps.queue.enqueue(taskMessageOf(task), { delaySeconds: task.delaySeconds });
  } catch (error) {
    if ((await discard(task, deps)) === 'kept') {
      deps.log.info('send failed but the task moved on: accepted', taskLogFields(task));
      return;
    }
    throw error;
  }
}

/** Best effort: a record that cannot be discarded stays QUEUED, and the recovery sweep sends its message. */
export async function discard(task: Task, deps: SubmitTaskDeps): Promise<DiscardResult | 'unknown'> {
  try {
    return await deps.store.discard(task.taskId, task.lastWriteId ?? '');
  } catch (error) {
    deps.log.error('could not discard a task whose submission failed; the recovery sweep will run it', {
      ...taskLogFields(task),
      error,
    });
    return 'unknown';
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
