import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ConflictError, DependencyUnavailableError, RateLimitedError, ValidationError } from '../../shared/errors.js';
import type { SubmitRate, SubmitRateLimiter } from '../../shared/fair-share.js';
import { DEFAULT_LANE, DEFAULT_PRIORITY, routeOf, type TaskPriority } from '../../shared/lanes.js';
import { FAIR_SHARE_COUNTS, TASK_COUNTS, taskLogFields } from '../../shared/metric-names.js';
import type { OwnerGroup } from '../../shared/owner-group.js';
import type {
  Clock,
  CreateResult,
  DiscardResult,
  Log,
  ScheduleService,
  TaskQueue,
  TaskStore,
} from '../../shared/ports.js';
import { type BlobRef, type Task, TaskStatus } from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { DAY_SECONDS, expiresAtAfter, MAX_DELAY_SECONDS, remainingDelaySeconds } from '../../shared/time.js';
import * as z from '../../shared/zod.js';
import type { TaskDefinition, TaskRegistry } from '../tasks/define-task.js';
import { planRunAt, type RunAtLimits, type RunAtPlan, runAtScheduleOf } from './run-at.js';
import { loadPayload, type PayloadDeps, type PayloadSource, storeLargePayload } from './task-payload.js';
import { issuesToDetails } from './validation.js';

export interface SubmitTaskInput {
  readonly ownerId: string;
  readonly type: string;
  readonly payload: unknown;
  /** An upload (`POST /tasks/uploads`) holding the payload, instead of `payload`. */
  readonly payloadRef?: string;
  readonly delaySeconds?: number;
  /** The caller's key for safe retries: same owner + key + body → the same task. */
  readonly idempotencyKey?: string;
  /** Where to POST the terminal event (checked by `deps.checkCallbackUrl`). */
  readonly callbackUrl?: string;
  /** Start no earlier than this ISO time: within the SQS delay a delayed message, beyond it a one-time schedule. */
  readonly runAt?: string;
  /** The schedule submitting it (a firing). */
  readonly scheduleName?: string;
  /** `high` goes to the lane's high-priority queue. @default normal */
  readonly priority?: TaskPriority;
  /** Another lane than the type's own (it must exist). @default the type's lane, else the default lane */
  readonly lane?: string;
}

export interface SubmitResult {
  readonly task: Task;
  /** False when an Idempotency-Key replay returned the task recorded earlier. */
  readonly created: boolean;
}

export interface SubmitTaskDeps extends PayloadDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly defaultMaxAttempts: number;
  readonly ttlDays: number;
  /** The lanes the deployment has (config `lanes`). @default the default lane alone */
  readonly lanes?: readonly string[];
  /** @default crypto.randomUUID: 122 random bits, so ids cannot be guessed */
  readonly newTaskId?: () => string;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
  /**
   * Checks a callback URL (form, then every address its host resolves to) and returns it as it will be
   * called; throws InvalidCallbackUrl. @default callbacks are not offered: a callbackUrl is refused
   */
  readonly checkCallbackUrl?: (url: string) => Promise<string>;
  /** Starts tasks whose `runAt` is beyond the SQS delay. @default such a `runAt` is answered 503 */
  readonly scheduler?: ScheduleService;
  /** @default `runAt` is refused */
  readonly scheduleLimits?: RunAtLimits;
  /**
   * The owner's keyed group, recorded with the task and sent as its messages' MessageGroupId (fair
   * queues). The handler sets it once the deployment key is loaded. @default tasks carry no group
   */
  readonly ownerGroup?: OwnerGroup;
  /** The per-owner submit rate limit (settings.fairness.submitRate), when it is on. @default no limit */
  readonly submitRate?: { readonly limiter: SubmitRateLimiter; readonly rate: SubmitRate };
}

/** A submission that passed every check, ready to be recorded: nothing of it is written yet. */
export interface CheckedSubmission {
  /** As submitted, with the callback URL as it will be called and the lane it runs in. */
  readonly input: SubmitTaskInput & { readonly lane: string };
  readonly definition: TaskDefinition;
  /** The payload, read from its upload when the submission named one. */
  readonly source: PayloadSource;
  readonly start?: RunAtPlan;
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
  const checked = await checkSubmission(input, deps);
  await takeSubmitAllowance(input.ownerId, 1, deps);
  const recorded = await recordSubmission(checked, deps);
  if (recorded.created) {
    await enqueueOrDiscard(recorded.task, deps);
    logSubmitted(recorded.task, deps);
  }
  return recorded;
}

/**
 * Every check of a submission, before anything is written: the type, the payload (read from its upload
 * first) against the type's schema, the start time, the lane and the callback URL. A ValidationError
 * names the first problem.
 */
export async function checkSubmission(input: SubmitTaskInput, deps: SubmitTaskDeps): Promise<CheckedSubmission> {
  checkTaskType(input.type, deps.registry);
  // A payloadRef's object is read (and must be JSON) before the schema check, as a body is parsed before it.
  const source = await loadPayload(input, deps);
  const definition = checkTaskPayload(input.type, source.payload, deps.registry);
  const start = input.runAt === undefined ? undefined : planStart(input, deps);
  const lane = laneOf(input.lane, definition, deps);
  const callbackUrl = input.callbackUrl === undefined ? undefined : await checkedCallbackUrl(input.callbackUrl, deps);
  return {
    input: { ...input, payload: source.payload, lane, ...(callbackUrl !== undefined && { callbackUrl }) },
    definition,
    source,
    ...(start && { start }),
  };
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
 * Writes the task (its payload first to the bucket when too large for the item), or finds the one an
 * earlier request with the same key wrote (a replay: its message is sent again if it was never
 * claimed). A created task is not started yet: the caller sends its message (alone or in a batch) or
 * puts its schedule, and discards the record if that fails.
 */
export async function recordSubmission(checked: CheckedSubmission, deps: SubmitTaskDeps): Promise<SubmitResult> {
  const { input, definition, source, start } = checked;
  const taskId = input.idempotencyKey
    ? taskIdFromKey(input.ownerId, input.idempotencyKey)
    : (deps.newTaskId ?? randomUUID)();
  // Before the item is written, which then holds only the reference (a failed write leaves the object to the bucket's expiry).
  const payloadRef = await storeLargePayload(source, input.ownerId, taskId, deps);
  const ownObject = payloadRef !== undefined && payloadRef !== source.ref ? payloadRef : undefined;
  // A replay can race with the request that is discarding the same key's task: one more round then finds the id free.
  for (let round = 0; ; round++) {
    const task = newTask(taskId, input, definition.maxAttempts ?? deps.defaultMaxAttempts, deps, start, payloadRef);
    const created = await createOrTakeBack(task, deps);
    if (created.created) return { task, created: true };
    // A random id is never taken (122 bits); only a key's id can be.
    if (!input.idempotencyKey) throw new ConflictError(`Task id ${taskId} is already taken.`);
    // The task recorded earlier keeps its own payload object: the one this request wrote is nobody's.
    const replayed = await replay(created.existing, task, deps).catch(async (error: unknown) => {
      await forget(ownObject, deps);
      throw error;
    });
    if (replayed) {
      await forget(ownObject, deps);
      return { task: replayed, created: false };
    }
    if (round === 1) throw new DependencyUnavailableError('task table');
  }
}

/** The line and the count of a task accepted: recorded and started. */
export function logSubmitted(task: Task, deps: SubmitTaskDeps): void {
  // The owner's keyed hash is on every line of the request (the API handler adds it).
  deps.log.info('task submitted', taskLogFields(task));
  deps.metrics?.record(TASK_COUNTS.submitted, task.type, 1, routeOf(task));
}

/** The task type's definition; throws UnknownTaskType, listing the known ones. */
function checkTaskType(type: string, registry: TaskRegistry, prefix = ''): TaskDefinition {
  const definition = registry.get(type);
  if (!definition) {
    const known = [...registry.keys()].join(', ');
    throw new ValidationError('UnknownTaskType', `Unknown task type "${type}". Known types: ${known}.`, [
      { path: `${prefix}type`, message: `must be one of: ${known}` },
    ]);
  }
  return definition;
}

/**
 * The task type's definition, once the payload matches its schema; `prefix` names where the type and
 * payload sit in the request (`task.` for a schedule's task).
 */
export function checkTaskPayload(type: string, payload: unknown, registry: TaskRegistry, prefix = '') {
  const definition = checkTaskType(type, registry, prefix);
  const parsed = z.safeParse(definition.payload, payload);
  if (!parsed.success) {
    throw new ValidationError(
      'InvalidPayload',
      `The payload does not match task type "${type}".`,
      issuesToDetails(parsed.error.issues, `${prefix}payload`),
    );
  }
  return definition;
}

function planStart(input: SubmitTaskInput, deps: SubmitTaskDeps): RunAtPlan {
  if (input.delaySeconds !== undefined) {
    throw new ValidationError('InvalidRequest', 'Send either delaySeconds or runAt, not both.', [
      { path: 'runAt', message: 'not together with delaySeconds' },
    ]);
  }
  if (!deps.scheduleLimits || input.runAt === undefined) {
    throw new ValidationError('InvalidRunAt', 'This deployment does not take runAt.');
  }
  const plan = planRunAt(input.runAt, deps.clock(), deps.scheduleLimits);
  if (plan.viaSchedule && !deps.scheduler) throw new DependencyUnavailableError('scheduler');
  return plan;
}

function newTask(
  taskId: string,
  input: SubmitTaskInput & { readonly lane: string },
  maxAttempts: number,
  deps: SubmitTaskDeps,
  start: RunAtPlan | undefined,
  payloadRef: BlobRef | undefined,
): Task {
  const now = deps.clock();
  const timestamp = now.toISOString();
  const expiresAt = expiresAtAfter(now, deps.ttlDays);
  const priority = input.priority ?? DEFAULT_PRIORITY;
  return {
    taskId,
    ownerId: input.ownerId,
    type: input.type,
    status: TaskStatus.Queued,
    lane: input.lane,
    priority,
    // The item keeps the payload, or only where it is; the hash below is of the payload either way.
    payload: payloadRef ? undefined : input.payload,
    ...(payloadRef && { payloadRef }),
    // The worker writes results and artifacts under the owner's prefix without holding the deployment key.
    ...(deps.taskData && deps.ownerHash && { ownerHash: deps.ownerHash(input.ownerId) }),
    payloadHash: sha256Hex(
      canonicalJson({
        type: input.type,
        payload: input.payload,
        delaySeconds: input.delaySeconds ?? 0,
        // Only when given, so the hashes of tasks without a callback stay what they were.
        ...(input.callbackUrl !== undefined && { callbackUrl: input.callbackUrl }),
        ...(start && { runAt: start.runAt }),
        ...(input.lane !== DEFAULT_LANE && { lane: input.lane }),
        ...(priority !== DEFAULT_PRIORITY && { priority }),
      }),
    ),
    ...(input.idempotencyKey && { idempotencyKey: input.idempotencyKey }),
    ...(deps.ownerGroup && { ownerGroup: deps.ownerGroup(input.ownerId) }),
    // Stored so a duplicate message or a re-enqueue waits for the rest of the delay instead of running early.
    ...(input.delaySeconds && { delaySeconds: input.delaySeconds, runAtMs: now.getTime() + input.delaySeconds * 1000 }),
    ...(start && { runAt: start.runAt, runAtMs: start.runAtMs }),
    ...(start?.delaySeconds && { delaySeconds: start.delaySeconds }),
    ...(start?.viaSchedule && { runAtSchedule: runAtScheduleOf({ taskId, runAtMs: start.runAtMs }).name }),
    ...(input.scheduleName && { scheduleName: input.scheduleName }),
    attempt: 0,
    maxAttempts,
    createdAt: timestamp,
    updatedAt: timestamp,
    // A task waiting far ahead must outlive its wait: kept ttlDays past its start at least.
    expiresAt: start ? Math.max(expiresAt, Math.ceil(start.runAtMs / 1000) + deps.ttlDays * DAY_SECONDS) : expiresAt,
    // Pending from the start: each terminal write makes a new event (finishedAt) that it is pending for.
    ...(input.callbackUrl !== undefined && { callback: { url: input.callbackUrl } }),
    // Written with the item: the creation's own id, so only this request may take it back (discard).
    lastWriteId: randomUUID(),
  };
}

/**
 * The lane a task runs in: the one asked for, else its type's, else the default lane; one the deployment
 * does not have is UnknownLane. `prefix` names where the fields sit in the request (`task.` for a schedule's).
 */
export function laneOf(
  asked: string | undefined,
  definition: TaskDefinition,
  deps: Pick<SubmitTaskDeps, 'lanes'>,
  prefix = '',
): string {
  const lane = asked ?? definition.lane ?? DEFAULT_LANE;
  const lanes = deps.lanes ?? [DEFAULT_LANE];
  if (!lanes.includes(lane)) {
    throw new ValidationError('UnknownLane', `Unknown lane "${lane}". Lanes: ${lanes.join(', ')}.`, [
      { path: `${prefix}${asked === undefined ? 'type' : 'lane'}`, message: `must be one of: ${lanes.join(', ')}` },
    ]);
  }
  return lane;
}

/** The callback URL as it will be called, once checked; InvalidCallbackUrl where callbacks are not offered. */
export async function checkedCallbackUrl(
  url: string,
  deps: Pick<SubmitTaskDeps, 'checkCallbackUrl'>,
  prefix = '',
): Promise<string> {
  if (!deps.checkCallbackUrl) {
    throw new ValidationError('InvalidCallbackUrl', 'This deployment does not send callbacks.', [
      { path: `${prefix}callbackUrl`, message: 'callbacks are not enabled' },
    ]);
  }
  return deps.checkCallbackUrl(url);
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
    // Still far off: its one-time schedule may be the call that failed before, so put it again (same name).
    const limit = (deps.scheduleLimits?.runAtQueueDelayMaxSeconds ?? MAX_DELAY_SECONDS) * 1000;
    if (existing.runAtSchedule && deps.scheduler && (existing.runAtMs ?? 0) - now.getTime() > limit) {
      await deps.scheduler.put(runAtScheduleOf(existing));
      deps.log.info('idempotent replay', { taskId: existing.taskId, type: existing.type });
      return existing;
    }
    const delaySeconds = remainingDelaySeconds(existing.runAtMs, now.getTime());
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
async function enqueueOrDiscard(task: Task, deps: SubmitTaskDeps): Promise<void> {
  try {
    await startLater(task, deps);
  } catch (error) {
    if ((await discard(task, deps)) === 'kept') {
      deps.log.info('send failed but the task moved on: accepted', taskLogFields(task));
      return;
    }
    throw error;
  }
}

/** Whether a created task starts by a one-time schedule at its `runAt` (beyond the SQS delay) rather than a message. */
export const startsBySchedule = (task: Task, deps: SubmitTaskDeps): boolean =>
  task.runAtSchedule !== undefined && deps.scheduler !== undefined;

/** Sends the task's message now (delayed up to SQS's limit), or leaves it to a one-time schedule at its `runAt`. */
export async function startLater(task: Task, deps: SubmitTaskDeps): Promise<void> {
  if (startsBySchedule(task, deps)) {
    await deps.scheduler?.put(runAtScheduleOf(task));
    return;
  }
  await deps.queue.enqueue(taskMessageOf(task), { delaySeconds: task.delaySeconds });
}

/** Best effort: a record that cannot be discarded stays QUEUED, and the recovery sweep sends its message. */
export async function discard(task: Task, deps: SubmitTaskDeps): Promise<DiscardResult | 'unknown'> {
  try {
    return await deps.store.discard(task);
  } catch (error) {
    deps.log.error('could not discard a task whose submission failed; the recovery sweep will run it', {
      ...taskLogFields(task),
      error,
    });
    return 'unknown';
  }
}

/** Best effort: an object left behind expires with the bucket's lifecycle rule. */
async function forget(ref: BlobRef | undefined, deps: SubmitTaskDeps): Promise<void> {
  if (!ref || !deps.taskData) return;
  try {
    await deps.taskData.blobs.delete([ref.key]);
  } catch (error) {
    deps.log.warn('could not delete an unused payload object; it expires with the bucket lifecycle', { error });
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
