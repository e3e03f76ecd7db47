import { ConflictError } from '../../shared/errors.js';
import type {
  ClaimResult,
  ListCursor,
  ListOptions,
  ScanFilter,
  TaskOutcome,
  TaskPage,
  TaskStore,
} from '../../shared/ports.js';
import { type Task, type TaskError, type TaskProgress, TaskStatus } from '../../shared/task.js';

export type TaskStoreMethod = keyof TaskStore;

export interface TaskStoreCall {
  readonly method: TaskStoreMethod;
  readonly taskId: string;
}

/** Removes the lease, as the Dynamo adapter's `REMOVE leaseExpiresAt` does. */
const withoutLease = ({ leaseExpiresAt: _lease, ...task }: Task): Task => task;

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

  constructor(tasks: readonly Task[] = []) {
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

  get size(): number {
    return this.items.size;
  }

  /** The next call of `method` throws `error` (queued: call again to fail several calls in a row). */
  failNext(method: TaskStoreMethod, error: unknown): this {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
    return this;
  }

  async create(task: Task, nowSeconds: number): Promise<void> {
    this.enter('create', task.taskId);
    const existing = this.items.get(task.taskId);
    if (existing && existing.expiresAt > nowSeconds) throw new ConflictError(`Task ${task.taskId} already exists.`);
    this.items.set(task.taskId, structuredClone(task));
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
    const updated: Task = { ...current, progress, updatedAt: now.toISOString() };
    this.items.set(taskId, structuredClone(updated));
    return structuredClone(updated);
  }

  async discard(taskId: string): Promise<void> {
    this.enter('discard', taskId);
    const current = this.items.get(taskId);
    if (current?.status === TaskStatus.Queued && current.attempt === 0) this.items.delete(taskId);
  }

  async claim(taskId: string, now: Date, leaseExpiresAt: number): Promise<ClaimResult> {
    this.enter('claim', taskId);
    const current = this.items.get(taskId);
    const claimable =
      current !== undefined &&
      (current.status === TaskStatus.Queued ||
        // A missing lease compares false in DynamoDB, so such a RUNNING task is not claimable.
        (current.status === TaskStatus.Running &&
          current.leaseExpiresAt !== undefined &&
          current.leaseExpiresAt < now.getTime()));
    if (!current || !claimable) return { claimed: false, task: current && structuredClone(current) };
    const claimed: Task = {
      ...current,
      status: TaskStatus.Running,
      attempt: current.attempt + 1,
      startedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      leaseExpiresAt,
    };
    this.items.set(taskId, claimed);
    return { claimed: true, task: structuredClone(claimed) };
  }

  async finish(taskId: string, attempt: number, outcome: TaskOutcome, now: Date, expiresAt: number): Promise<boolean> {
    this.enter('finish', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Running || current.attempt !== attempt) return false;
    this.items.set(taskId, {
      ...withoutLease(current),
      status: outcome.status,
      finishedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt,
      ...(outcome.status === 'SUCCEEDED' && { result: structuredClone(outcome.result) }),
      ...(outcome.status === 'FAILED' && { error: structuredClone(outcome.error) }),
    });
    return true;
  }

  async release(taskId: string, attempt: number, error: TaskError, now: Date): Promise<boolean> {
    this.enter('release', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Running || current.attempt !== attempt) return false;
    this.items.set(taskId, {
      ...withoutLease(current),
      status: TaskStatus.Queued,
      lastError: structuredClone(error),
      updatedAt: now.toISOString(),
    });
    return true;
  }

  async failUnfinished(taskId: string, error: TaskError, now: Date, expiresAt: number): Promise<boolean> {
    this.enter('failUnfinished', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Queued && current?.status !== TaskStatus.Running) return false;
    this.items.set(taskId, {
      ...withoutLease(current),
      status: TaskStatus.Failed,
      error: structuredClone(error),
      finishedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt,
    });
    return true;
  }

  async cancel(taskId: string, ownerId: string, now: Date, expiresAt: number): Promise<Task | undefined> {
    this.enter('cancel', taskId);
    const current = this.items.get(taskId);
    if (current?.ownerId !== ownerId) return undefined;
    if (current.status === TaskStatus.Queued) {
      this.items.set(taskId, {
        ...current,
        status: TaskStatus.Cancelled,
        cancelRequested: true,
        finishedAt: now.toISOString(),
        updatedAt: now.toISOString(),
        expiresAt,
      });
    } else if (current.status === TaskStatus.Running) {
      this.items.set(taskId, { ...current, cancelRequested: true, updatedAt: now.toISOString() });
    }
    return this.peek(taskId);
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
        filter.statuses.includes(task.status) &&
        (filter.errorCode === undefined || task.error?.code === filter.errorCode),
    );
    return { tasks: structuredClone(tasks) };
  }

  async requeueDeadLettered(taskId: string, extraAttempts: number, now: Date): Promise<boolean> {
    this.enter('requeueDeadLettered', taskId);
    const current = this.items.get(taskId);
    if (current?.status !== TaskStatus.Failed || current.error?.code !== 'DeadLettered') return false;
    const { error: _error, finishedAt: _finishedAt, leaseExpiresAt: _lease, ...rest } = current;
    this.items.set(taskId, {
      ...rest,
      status: TaskStatus.Queued,
      maxAttempts: current.attempt + extraAttempts,
      updatedAt: now.toISOString(),
    });
    return true;
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
