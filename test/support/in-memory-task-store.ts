import { randomUUID } from 'node:crypto';
import { ItemTooLargeError } from '../../shared/errors.js';
import { dynamoItemSize } from '../../shared/item-size.js';
import type {
  CallbackRecord,
  CancelResult,
  ClaimResult,
  CreateResult,
  DiscardedTask,
  DiscardResult,
  EndResult,
  ListCursor,
  ListOptions,
  ReleaseResult,
  ScanFilter,
  TaskOutcome,
  TaskPage,
  TaskStore,
} from '../../shared/ports.js';
import {
  CallbackStatus,
  hasPendingCallback,
  isDeadLettered,
  isExpired,
  isTerminal,
  type Task,
  type TaskError,
  type TaskProgress,
  TaskStatus,
  ttlShiftSeconds,
} from '../../shared/task.js';

export type TaskStoreMethod = keyof TaskStore;

export interface TaskStoreCall {
  readonly method: TaskStoreMethod;
  readonly taskId: string;
}

/** The adapter's claim condition: QUEUED and due, or RUNNING past its lease; never once expired. */
const isClaimable = (task: Task, nowMs: number, expiryNowMs = nowMs): boolean =>
  !isExpired(task, expiryNowMs) &&
  ((task.status === TaskStatus.Queued && (task.runAtMs === undefined || task.runAtMs <= nowMs)) ||
    // A missing lease compares false in DynamoDB, so such a RUNNING task is not claimable.
    (task.status === TaskStatus.Running && task.leaseExpiresAt !== undefined && task.leaseExpiresAt < nowMs));

/**
 * TaskStore with the conditional semantics of DynamoTaskStore (every write checks status and, where
 * the adapter does, attempt), held in a Map. Hand-written because no library fakes a port of ours.
 * Items go in and come out as deep copies, so a test cannot change stored state by accident.
 */
export class InMemoryTaskStore implements TaskStore {
  /** Every call in order, including failed ones: lets a test prove the store was never reached. */
  readonly calls: TaskStoreCall[] = [];
  private readonly items = new Map<string, Task>();
  private readonly failures = new Map<TaskStoreMethod, unknown[]>();

  /**
   * @param tasks the "given" state
   * @param itemLimitBytes refuse a result that makes the item larger than this, as DynamoDB refuses
   *   items over 400 KB. @default no limit
   */
  constructor(
    tasks: readonly Task[] = [],
    private readonly itemLimitBytes?: number,
  ) {
    this.seed(...tasks);
  }

  /** Puts tasks as they are, without conditions or call records: the "given" of a test. */
  seed(...tasks: readonly Task[]): void {
    for (const task of tasks) this.items.set(task.taskId, structuredClone(task));
  }

  /** Reads a task without a call record or injected failure: the "then" of a test. */
  peek(taskId: string): Task | undefined {
    const task = this.items.get(taskId);
    return task && structuredClone(task);
  }

  /** Every task, as peek reads them. */
  all(): Task[] {
    return [...this.items.values()].map((task) => structuredClone(task));
  }

  get size(): number {
    return this.items.size;
  }

  /** The next call of `method` throws `error` (queued: call again to fail several calls in a row). */
  failNext(method: TaskStoreMethod, error: unknown): this {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
    return this;
  }

  async create(task: Task, nowMs: number): Promise<CreateResult> {
    this.enter('create', task.taskId);
    const existing = this.items.get(task.taskId);
    const replaceable =
      !existing ||
      (existing.expiresAt <= Math.floor(nowMs / 1000) &&
        !(existing.status === TaskStatus.Running && (existing.leaseExpiresAt ?? 0) >= nowMs));
    if (!replaceable && existing) return { created: false, existing: structuredClone(existing) };
    this.items.set(task.taskId, { ...structuredClone(task), lastWriteId: task.lastWriteId ?? randomUUID() });
    return { created: true };
  }

  async get(taskId: string, options: { readonly ownerId?: string } = {}): Promise<Task | undefined> {
    this.enter('get', taskId);
    const task = this.peek(taskId);
    return options.ownerId === undefined || task?.ownerId === options.ownerId ? task : undefined;
  }

  async progress(taskId: string, attempt: number, progress: TaskProgress, now: Date): Promise<Task | undefined> {
    this.enter('progress', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Running || current.attempt !== attempt) return undefined;
    return this.put({ ...current, progress, updatedAt: now.toISOString() });
  }

  async discard(created: DiscardedTask): Promise<DiscardResult> {
    const { taskId } = created;
    this.enter('discard', taskId);
    const current = this.items.get(taskId);
    if (!current) return 'discarded';
    if (current.status !== TaskStatus.Queued || current.attempt !== 0 || current.lastWriteId !== created.lastWriteId) {
      const same = current.createdAt === created.createdAt && current.payloadHash === created.payloadHash;
      return same ? 'kept' : 'discarded';
    }
    this.items.delete(taskId);
    return 'discarded';
  }

  async markReplayed(taskId: string, now: Date): Promise<boolean> {
    this.enter('markReplayed', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Queued || current.attempt !== 0) return false;
    this.put({ ...current, lastWriteId: randomUUID(), updatedAt: now.toISOString() });
    return true;
  }

  async claim(taskId: string, now: Date, leaseExpiresAtMs: number): Promise<ClaimResult> {
    this.enter('claim', taskId);
    const current = this.items.get(taskId);
    if (!current || !isClaimable(current, now.getTime())) {
      return { claimed: false, task: current && structuredClone(current) };
    }
    const { runAtMs: _runAt, waitingUntilMs: _waiting, ...rest } = current;
    const claimed = this.put({
      ...rest,
      claimedFrom: current.status,
      status: TaskStatus.Running,
      attempt: current.attempt + 1,
      startedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      leaseExpiresAt: leaseExpiresAtMs,
      lastWriteId: randomUUID(),
    });
    return { claimed: true, task: claimed };
  }

  async finish(
    taskId: string,
    attempt: number,
    outcome: TaskOutcome,
    now: Date,
    expiresAtSeconds: number,
  ): Promise<boolean> {
    this.enter('finish', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Running || current.attempt !== attempt) return false;
    if (this.itemLimitBytes !== undefined && outcome.status === 'SUCCEEDED') {
      const size = dynamoItemSize({ ...current, result: outcome.result });
      if (size > this.itemLimitBytes) throw new ItemTooLargeError();
    }
    const { leaseExpiresAt: _lease, runAtMs: _runAt, ...rest } = current;
    this.put({
      ...rest,
      status: outcome.status,
      finishedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: expiresAtSeconds,
      lastWriteId: randomUUID(),
      ...(outcome.status === 'SUCCEEDED' &&
        (outcome.resultRef
          ? { resultRef: structuredClone(outcome.resultRef) }
          : { result: structuredClone(outcome.result) })),
      ...(outcome.status === 'FAILED' && { error: structuredClone(outcome.error) }),
      ...(outcome.status !== 'CANCELLED' &&
        outcome.artifacts?.length && { artifacts: structuredClone(outcome.artifacts) }),
    });
    return true;
  }

  async release(taskId: string, attempt: number, error: TaskError, now: Date, runAtMs: number): Promise<ReleaseResult> {
    this.enter('release', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Running || current.attempt !== attempt) return 'superseded';
    if (current.cancelRequested) return 'cancelRequested';
    const { leaseExpiresAt: _lease, ...rest } = current;
    this.put({
      ...rest,
      status: TaskStatus.Queued,
      lastError: structuredClone(error),
      updatedAt: now.toISOString(),
      runAtMs,
      lastWriteId: randomUUID(),
    });
    return 'released';
  }

  async failAbandoned(
    taskId: string,
    error: TaskError,
    now: Date,
    expiresAtSeconds: number,
    toleranceMs = 0,
  ): Promise<EndResult> {
    this.enter('failAbandoned', taskId);
    const current = this.items.get(taskId);
    const waiting = current?.waitingUntilMs !== undefined;
    if (!current || waiting || !isClaimable(current, now.getTime() + toleranceMs, now.getTime())) {
      return { ended: false, task: current && structuredClone(current) };
    }
    return { ended: true, task: this.endUnattended(current, error, now, expiresAtSeconds) };
  }

  async endExpired(taskId: string, error: TaskError, now: Date, expiresAtSeconds: number): Promise<EndResult> {
    this.enter('endExpired', taskId);
    const current = this.items.get(taskId);
    const nowMs = now.getTime();
    const unattended =
      current?.status === TaskStatus.Queued ||
      (current?.status === TaskStatus.Running && (current.leaseExpiresAt ?? 0) < nowMs);
    if (!current || !isExpired(current, nowMs) || !unattended) {
      return { ended: false, task: current && structuredClone(current) };
    }
    return { ended: true, task: this.endUnattended(current, error, now, expiresAtSeconds) };
  }

  /** FAILED with `error`, or CANCELLED when its owner asked for a cancel. */
  private endUnattended(current: Task, error: TaskError, now: Date, expiresAtSeconds: number): Task {
    const { leaseExpiresAt: _lease, runAtMs: _runAt, waitingUntilMs: _waiting, ...rest } = current;
    const end = {
      finishedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: expiresAtSeconds,
      lastWriteId: randomUUID(),
    };
    return this.put(
      current.cancelRequested
        ? { ...rest, status: TaskStatus.Cancelled, ...end }
        : { ...rest, status: TaskStatus.Failed, error: structuredClone(error), ...end },
    );
  }

  async recordCallback(taskId: string, record: CallbackRecord, _now: Date): Promise<boolean> {
    this.enter('recordCallback', taskId);
    const current = this.items.get(taskId);
    if (!current?.callback || !isTerminal(current.status) || current.finishedAt !== record.eventAt) return false;
    const stored = current.callback;
    const fenced =
      record.attemptsBefore === 0
        ? stored.eventAt !== record.eventAt
        : stored.eventAt === record.eventAt &&
          stored.attempts === record.attemptsBefore &&
          stored.status === CallbackStatus.Pending;
    if (!fenced) return false;
    this.put({
      ...current,
      lastWriteId: randomUUID(),
      callback: {
        url: stored.url,
        eventAt: record.eventAt,
        attempts: record.attempts,
        status: record.status,
        ...(record.lastStatusCode !== undefined && { lastStatusCode: record.lastStatusCode }),
        ...(record.deliveredAt !== undefined && { deliveredAt: record.deliveredAt }),
        ...(record.nextAttemptAt !== undefined && { nextAttemptAt: record.nextAttemptAt }),
      },
    });
    return true;
  }

  async cancel(
    taskId: string,
    ownerId: string,
    clock: Date | (() => Date),
    expiresAtSeconds: number,
  ): Promise<CancelResult | undefined> {
    this.enter('cancel', taskId);
    const now = typeof clock === 'function' ? clock() : clock;
    const current = this.items.get(taskId);
    if (current?.ownerId !== ownerId || isExpired(current, now.getTime())) return undefined;
    if (current.status === TaskStatus.Queued) {
      const { runAtMs: _runAt, ...rest } = current;
      const task = this.put({
        ...rest,
        status: TaskStatus.Cancelled,
        cancelRequested: true,
        finishedAt: now.toISOString(),
        updatedAt: now.toISOString(),
        expiresAt: expiresAtSeconds,
        lastWriteId: randomUUID(),
      });
      return { task, change: 'cancelled' };
    }
    if (current.status === TaskStatus.Running && !current.cancelRequested) {
      const task = this.put({ ...current, cancelRequested: true, updatedAt: now.toISOString() });
      return { task, change: 'cancelRequested' };
    }
    return { task: structuredClone(current), change: 'none' };
  }

  /**
   * Like a Query on the owner index: newest first, `limit` items read per page and the filter
   * applied after the limit (so pages may be short), a cursor whenever the limit was reached.
   */
  async listByOwner(ownerId: string, options: ListOptions): Promise<TaskPage> {
    this.enter('listByOwner', ownerId);
    const { cursor } = options;
    const ordered = [...this.items.values()]
      .filter((task) => task.ownerId === ownerId)
      .sort(newestFirst)
      // Resumes after the cursor's position, even if that task has gone since.
      .filter(
        (task) => !cursor || newestFirst(task, { createdAt: cursor.createdAt ?? '', taskId: cursor.taskId ?? '' }) > 0,
      );
    const read = ordered.slice(0, options.limit);
    const tasks = read.filter(
      (task) => task.expiresAt > options.nowSeconds && (!options.status || task.status === options.status),
    );
    const last = read.length === options.limit ? read.at(-1) : undefined;
    return { tasks: structuredClone(tasks), ...(last && { cursor: cursorOf(last) }) };
  }

  /** One page holding every match: paging is the adapter's concern, tested against dynalite. */
  async scan(filter: ScanFilter): Promise<TaskPage> {
    this.enter('scan', '*');
    const tasks = [...this.items.values()].filter(
      (task) =>
        (filter.statuses.includes(task.status) &&
          (filter.errorCode === undefined || task.error?.code === filter.errorCode)) ||
        (filter.pendingCallbacks === true && hasPendingCallback(task)),
    );
    return { tasks: structuredClone(tasks) };
  }

  async noteWaiting(
    taskId: string,
    untilMs: number,
    options: { readonly expected?: number; readonly nowMs: number },
  ): Promise<'noted' | 'superseded' | 'gone'> {
    this.enter('noteWaiting', taskId);
    const current = this.items.get(taskId);
    if (!current || isTerminal(current.status)) return 'gone';
    const mine =
      current.waitingUntilMs === undefined ||
      current.waitingUntilMs < options.nowMs ||
      current.waitingUntilMs === options.expected;
    if (!mine) return 'superseded';
    this.put({ ...current, waitingUntilMs: untilMs });
    return 'noted';
  }

  async requeueDeadLettered(taskId: string, extraAttempts: number, now: Date): Promise<boolean> {
    this.enter('requeueDeadLettered', taskId);
    const current = this.items.get(taskId);
    if (!isDeadLettered(current)) return false;
    const { error: _error, finishedAt: _finishedAt, leaseExpiresAt: _lease, runAtMs: _runAt, ...rest } = current;
    this.put({
      ...rest,
      status: TaskStatus.Queued,
      maxAttempts: current.attempt + extraAttempts,
      expiresAt: current.expiresAt + ttlShiftSeconds(current.finishedAt, now),
      updatedAt: now.toISOString(),
      lastWriteId: randomUUID(),
    });
    return true;
  }

  /** Stores a copy of `task` and returns another. */
  private put(task: Task): Task {
    this.items.set(task.taskId, structuredClone(task));
    return structuredClone(task);
  }

  /** Records the call, then throws the failure injected for it, if any. */
  private enter(method: TaskStoreMethod, taskId: string): void {
    this.calls.push({ method, taskId });
    const pending = this.failures.get(method);
    if (pending?.length) throw pending.shift();
  }
}

const compareDescending = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

/** Index order: createdAt descending; DynamoDB leaves ties unordered, the fake breaks them by id. */
const newestFirst = (a: Pick<Task, 'createdAt' | 'taskId'>, b: Pick<Task, 'createdAt' | 'taskId'>): number =>
  compareDescending(a.createdAt, b.createdAt) || compareDescending(a.taskId, b.taskId);

/** The LastEvaluatedKey of an index query: table key plus index key. */
const cursorOf = (task: Task): ListCursor => ({
  taskId: task.taskId,
  ownerId: task.ownerId,
  createdAt: task.createdAt,
});
