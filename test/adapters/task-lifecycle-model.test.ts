import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscardedTask, TaskStore } from '../../shared/ports.js';
import { DEAD_LETTERED_CODE, type Task, type TaskStatus } from '../../shared/task.js';
import { dynamoHarness, inMemoryHarness, queuedTask, type TaskStoreHarness } from '../support/task-store-harness.js';

/**
 * Model-based test of the task state machine: fast-check draws random interleavings of submit,
 * claim (a first delivery or a duplicate), progress, release, finish, cancel, dead-letter, redrive,
 * replay, discard, sweep and lease expiry, each write possibly with its reply lost, and checks the
 * store against a small reference model after every step. Same commands against both stores.
 *
 * `MODEL_RUNS=2000 npx vitest run test/adapters/task-lifecycle-model.test.ts` runs longer.
 */
const RUNS = Number(process.env.MODEL_RUNS ?? 200);
const OWNER = 'jwt:model';
const FAR = 99_999_999_999;

/** What the model knows of a task: the parts of the item the state machine decides. */
interface ModelTask {
  status: TaskStatus;
  attempt: number;
  maxAttempts: number;
  leaseExpiresAt?: number;
  runAtMs?: number;
  cancelRequested: boolean;
  errorCode?: string;
  /** True until a state change other than the creation writes a new lastWriteId. */
  createdLast: boolean;
  /** The creation, as the request that made it would discard it. */
  creation: DiscardedTask;
}

interface Model {
  now: number;
  readonly ids: readonly string[];
  readonly tasks: Map<string, ModelTask>;
}

interface Real {
  readonly harness: TaskStoreHarness;
  readonly store: TaskStore;
}

const due = (task: ModelTask, now: number) =>
  (task.status === 'QUEUED' && (task.runAtMs === undefined || task.runAtMs <= now)) ||
  (task.status === 'RUNNING' && task.leaseExpiresAt !== undefined && task.leaseExpiresAt < now);
const isTerminal = (status: TaskStatus) => status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';

/** The item as the model says it must be. */
async function expectState(model: Model, real: Real, id: string): Promise<void> {
  const stored = await real.store.get(id);
  const expected = model.tasks.get(id);
  if (!expected) {
    expect(stored).toBeUndefined();
    return;
  }
  expect({
    status: stored?.status,
    attempt: stored?.attempt,
    maxAttempts: stored?.maxAttempts,
    leaseExpiresAt: stored?.leaseExpiresAt,
    runAtMs: stored?.runAtMs,
    cancelRequested: Boolean(stored?.cancelRequested),
    errorCode: stored?.status === 'FAILED' ? stored.error?.code : undefined,
  }).toEqual({
    status: expected.status,
    attempt: expected.attempt,
    maxAttempts: expected.maxAttempts,
    leaseExpiresAt: expected.leaseExpiresAt,
    runAtMs: expected.runAtMs,
    cancelRequested: expected.cancelRequested,
    errorCode: expected.errorCode,
  });
}

/** A command on the task in one of the run's slots, optionally losing its write's reply. */
abstract class TaskCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly slot: number,
    readonly lost: boolean,
  ) {}
  check = () => true;
  abstract apply(model: Model, real: Real, id: string, now: Date): Promise<void>;
  async run(model: Model, real: Real): Promise<void> {
    const id = model.ids[this.slot] ?? '';
    await this.apply(model, real, id, new Date(model.now));
    real.harness.clearLostReplies();
    await expectState(model, real, id);
  }
  lose(real: Real, method: keyof TaskStore): void {
    if (this.lost) real.harness.loseNextReply(method);
  }
  toString(): string {
    return `${this.constructor.name}(${this.slot}${this.lost ? ', lost reply' : ''})`;
  }
}

class Submit extends TaskCommand {
  async apply(model: Model, real: Real, id: string, now: Date) {
    const creation = {
      ...queuedTask(now, { taskId: id, ownerId: OWNER, maxAttempts: 3, expiresAt: FAR }),
      lastWriteId: randomUUID(),
    };
    this.lose(real, 'create');
    const result = await real.store.create(creation, now.getTime());
    const existed = model.tasks.has(id);
    expect(result.created).toBe(!existed);
    if (!existed) {
      model.tasks.set(id, {
        status: 'QUEUED',
        attempt: 0,
        maxAttempts: 3,
        cancelRequested: false,
        createdLast: true,
        creation,
      });
    }
  }
}

class Claim extends TaskCommand {
  constructor(
    slot: number,
    lost: boolean,
    readonly leaseMs: number,
  ) {
    super(slot, lost);
  }
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    this.lose(real, 'claim');
    const result = await real.store.claim(id, now, model.now + this.leaseMs);
    const claimable = task !== undefined && due(task, model.now);
    expect(result.claimed).toBe(claimable);
    if (task && claimable) {
      expect(result.claimed && result.task.claimedFrom).toBe(task.status);
      Object.assign(task, {
        status: 'RUNNING',
        attempt: task.attempt + 1,
        leaseExpiresAt: model.now + this.leaseMs,
        runAtMs: undefined,
        createdLast: false,
      });
    }
  }
}

/** Writes of an attempt: the current one, or (stale) the one before it. */
abstract class AttemptCommand extends TaskCommand {
  constructor(
    slot: number,
    lost: boolean,
    readonly stale: boolean,
  ) {
    super(slot, lost);
  }
  attemptOf(task: ModelTask | undefined): number {
    return Math.max(0, (task?.attempt ?? 1) - (this.stale ? 1 : 0));
  }
  isCurrent(task: ModelTask | undefined, attempt: number): task is ModelTask {
    return task?.status === 'RUNNING' && task.attempt === attempt;
  }
}

class Progress extends AttemptCommand {
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    const attempt = this.attemptOf(task);
    const written = await real.store.progress(id, attempt, { percent: 50 }, now);
    expect(written !== undefined).toBe(this.isCurrent(task, attempt));
    if (written) expect(Boolean(written.cancelRequested)).toBe(task?.cancelRequested);
  }
}

class Finish extends AttemptCommand {
  constructor(
    slot: number,
    lost: boolean,
    stale: boolean,
    readonly outcome: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
  ) {
    super(slot, lost, stale);
  }
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    const attempt = this.attemptOf(task);
    const outcome =
      this.outcome === 'SUCCEEDED'
        ? { status: 'SUCCEEDED' as const, result: { attempt } }
        : this.outcome === 'FAILED'
          ? { status: 'FAILED' as const, error: { code: 'Boom', message: 'boom' } }
          : { status: 'CANCELLED' as const };
    this.lose(real, 'finish');
    const recorded = await real.store.finish(id, attempt, outcome, now, FAR);
    expect(recorded).toBe(this.isCurrent(task, attempt));
    if (this.isCurrent(task, attempt)) {
      Object.assign(task, {
        status: this.outcome,
        leaseExpiresAt: undefined,
        runAtMs: undefined,
        errorCode: this.outcome === 'FAILED' ? 'Boom' : undefined,
        createdLast: false,
      });
    }
  }
  override toString() {
    return `Finish(${this.slot}, ${this.outcome}${this.stale ? ', stale' : ''}${this.lost ? ', lost reply' : ''})`;
  }
}

class Release extends AttemptCommand {
  constructor(
    slot: number,
    lost: boolean,
    stale: boolean,
    readonly backoffMs: number,
  ) {
    super(slot, lost, stale);
  }
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    const attempt = this.attemptOf(task);
    this.lose(real, 'release');
    const result = await real.store.release(
      id,
      attempt,
      { code: 'Flaky', message: 'again' },
      now,
      model.now + this.backoffMs,
    );
    if (!this.isCurrent(task, attempt)) {
      expect(result).toBe('superseded');
    } else if (task.cancelRequested) {
      expect(result).toBe('cancelRequested');
    } else {
      expect(result).toBe('released');
      Object.assign(task, {
        status: 'QUEUED',
        leaseExpiresAt: undefined,
        runAtMs: model.now + this.backoffMs,
        createdLast: false,
      });
    }
  }
}

class Cancel extends TaskCommand {
  constructor(
    slot: number,
    lost: boolean,
    readonly foreign: boolean,
  ) {
    super(slot, lost);
  }
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    this.lose(real, 'cancel');
    const result = await real.store.cancel(id, this.foreign ? 'jwt:someone-else' : OWNER, now, FAR);
    if (!task || this.foreign) {
      expect(result).toBeUndefined();
      return;
    }
    if (task.status === 'QUEUED') {
      expect(result?.change).toBe('cancelled');
      Object.assign(task, { status: 'CANCELLED', cancelRequested: true, runAtMs: undefined, createdLast: false });
    } else if (task.status === 'RUNNING' && !task.cancelRequested) {
      expect(result?.change).toBe('cancelRequested');
      task.cancelRequested = true;
    } else {
      expect(result?.change).toBe('none');
    }
  }
}

class DeadLetter extends TaskCommand {
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    this.lose(real, 'failAbandoned');
    const result = await real.store.failAbandoned(id, { code: DEAD_LETTERED_CODE, message: 'x' }, now, FAR);
    const abandoned = task !== undefined && due(task, model.now);
    expect(result.ended).toBe(abandoned);
    if (task && abandoned) {
      // A cancel its lost attempt never recorded ends it CANCELLED, not FAILED.
      Object.assign(task, {
        status: task.cancelRequested ? 'CANCELLED' : 'FAILED',
        errorCode: task.cancelRequested ? undefined : DEAD_LETTERED_CODE,
        leaseExpiresAt: undefined,
        runAtMs: undefined,
        createdLast: false,
      });
    }
  }
}

class Redrive extends TaskCommand {
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    this.lose(real, 'requeueDeadLettered');
    const requeued = await real.store.requeueDeadLettered(id, 2, now);
    const deadLettered = task?.status === 'FAILED' && task.errorCode === DEAD_LETTERED_CODE;
    expect(requeued).toBe(deadLettered);
    if (task && deadLettered) {
      Object.assign(task, {
        status: 'QUEUED',
        maxAttempts: task.attempt + 2,
        errorCode: undefined,
        createdLast: false,
      });
    }
  }
}

class Replay extends TaskCommand {
  async apply(model: Model, real: Real, id: string, now: Date) {
    const task = model.tasks.get(id);
    this.lose(real, 'markReplayed');
    const marked = await real.store.markReplayed(id, now);
    const markable = task?.status === 'QUEUED' && task.attempt === 0;
    expect(marked).toBe(markable);
    if (task && markable) task.createdLast = false;
  }
}

class Discard extends TaskCommand {
  async apply(model: Model, real: Real, id: string) {
    const task = model.tasks.get(id);
    this.lose(real, 'discard');
    const result = await real.store.discard(
      task?.creation ?? { taskId: id, lastWriteId: 'none', createdAt: '', payloadHash: '' },
    );
    const removable = !task || (task.status === 'QUEUED' && task.attempt === 0 && task.createdLast);
    expect(result).toBe(removable ? 'discarded' : 'kept');
    if (removable) model.tasks.delete(id);
  }
}

/** The sweep's view: every unfinished task of this run, and nothing else. */
class Sweep implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real) {
    const found: Task[] = [];
    let cursor: Record<string, string> | undefined;
    do {
      const page = await real.store.scan({ statuses: ['QUEUED', 'RUNNING'] }, cursor);
      found.push(...page.tasks.filter((task) => model.ids.includes(task.taskId)));
      cursor = page.cursor;
    } while (cursor);
    const unfinished = [...model.tasks].filter(([, task]) => !isTerminal(task.status)).map(([id]) => id);
    expect(found.map((task) => task.taskId).sort()).toEqual(unfinished.sort());
  }
  toString = () => 'Sweep';
}

/** Time passes: leases expire, backoffs end. */
class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model) {
    model.now += this.ms;
  }
  toString = () => `Advance(${this.ms})`;
}

const SLOTS = 3;
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const lost = fc.boolean();
const commands = fc.commands(
  [
    fc.tuple(slot, lost).map(([s, l]) => new Submit(s, l)),
    fc.tuple(slot, lost, fc.integer({ min: 1, max: 5_000 })).map(([s, l, ms]) => new Claim(s, l, ms)),
    fc.tuple(slot, fc.boolean()).map(([s, stale]) => new Progress(s, false, stale)),
    fc
      .tuple(
        slot,
        lost,
        fc.boolean(),
        fc.constantFrom('SUCCEEDED', 'FAILED', 'CANCELLED') as fc.Arbitrary<'SUCCEEDED' | 'FAILED' | 'CANCELLED'>,
      )
      .map(([s, l, stale, outcome]) => new Finish(s, l, stale, outcome)),
    fc
      .tuple(slot, lost, fc.boolean(), fc.integer({ min: 0, max: 5_000 }))
      .map(([s, l, stale, ms]) => new Release(s, l, stale, ms)),
    fc.tuple(slot, lost, fc.boolean()).map(([s, l, foreign]) => new Cancel(s, l, foreign)),
    fc.tuple(slot, lost).map(([s, l]) => new DeadLetter(s, l)),
    fc.tuple(slot, lost).map(([s, l]) => new Redrive(s, l)),
    fc.tuple(slot, lost).map(([s, l]) => new Replay(s, l)),
    fc.tuple(slot, lost).map(([s, l]) => new Discard(s, l)),
    fc.constant(new Sweep()),
    fc.integer({ min: 1, max: 6_000 }).map((ms) => new Advance(ms)),
  ],
  { maxCommands: 30 },
);

describe.each([
  ['InMemoryTaskStore', inMemoryHarness],
  ['DynamoTaskStore on dynalite', () => dynamoHarness()],
])('task state machine model: %s', (_name, makeHarness) => {
  let harness: TaskStoreHarness;
  beforeAll(async () => {
    harness = await makeHarness();
  });
  afterAll(() => harness.stop());

  it(`matches the model after every step (${RUNS} runs)`, { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const model: Model = {
          now: Date.parse('2026-11-30T10:00:00.000Z'),
          ids: Array.from({ length: SLOTS }, () => randomUUID()),
          tasks: new Map(),
        };
        await fc.asyncModelRun(() => ({ model, real: { harness, store: harness.store } }), cmds);
      }),
      { numRuns: RUNS },
    );
  });
});
