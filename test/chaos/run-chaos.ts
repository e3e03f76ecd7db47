import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BroadcastChannel } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { taskIdFromKey } from '../../functions/api/submit-task.js';
import { LEDGER_CHANNEL, type LedgerEvent } from '../../functions/tasks/diagnostic.js';
import { mintDevToken } from '../../infra/local/dev-key.js';
import type { EmfEvent } from '../../infra/local/emf-capture.js';
import { startLocalStack } from '../../infra/local/local-stack.js';
import { redriveDeadLetters } from '../../infra/ops/redrive-dead-letters.js';
import { type Settings, settings } from '../../infra/settings.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { FAIR_SHARE_COUNTS, RECOVERY_COUNTS, TASK_COUNTS } from '../../shared/metric-names.js';
import type { Log } from '../../shared/ports.js';
import { DEAD_LETTERED_CODE, hasPendingCallback, isTerminal, type Task } from '../../shared/task.js';
import { type FaultCounts, type FaultRates, injectSdkFaults, summarize } from './fault-injector.js';

export interface ChaosOptions {
  readonly tasks: number;
  /** Submissions in flight at once. */
  readonly concurrency: number;
  /**
   * Submissions started per second at most. The sweep's check (`unexplainedSweepReenqueue`) holds only while
   * no message waits in the queue longer than the run's short stale time, as a deployment sized for its load
   * keeps its queue within 45 minutes: 2,000 tasks submitted as fast as the API takes them left first messages
   * 40-90 s in the queue, and the sweep rightly sent spares for them.
   */
  readonly submitRatePerSecond: number;
  readonly faults: FaultRates;
  /** Share of worker invocations whose environment dies mid-way (a crash mid-attempt). */
  readonly killRate: number;
  /** Share of worker invocations that run but whose response is lost (no message deleted). */
  readonly dropResponseRate: number;
  /** Share of tasks that get a second message. */
  readonly duplicateRate: number;
  /** Share of tasks cancelled at a random moment of their life. */
  readonly cancelRate: number;
  /** Share of submissions sent without an Idempotency-Key. */
  readonly keylessRate: number;
  /**
   * Share of submissions at high priority: their own queue and mapping, the same guarantees. A small share,
   * as in use: the high-priority queue has 2 pollers, and a quarter of 2,000 tasks there waited in it longer
   * than the run's stale time, so the sweep sent spares for tasks that were not lost.
   */
  readonly highPriorityRate: number;
  /**
   * Share of tasks whose payload and result are over 1 KB: kept in the task data bucket, whose calls (the
   * API's PutObject, the worker's GetObject and PutObject) fail, stall and lose replies like the others.
   */
  readonly taskDataRate: number;
  /**
   * Share of tasks submitted with a callbackUrl (a receiver in this process), and the share of the
   * receiver's answers that are 500s: deliveries are retried, under the same faults as the rest.
   */
  readonly callbackRate: number;
  readonly callbackFailureRate: number;
  /** Tasks whose records the worker fails before claiming, until the dead-letter queue takes them. */
  readonly poisonTasks: number;
  /** Keyless submissions whose send and discard both fail: a 503 that leaves a record for the sweep. */
  readonly orphanProbes: number;
  /** Give up waiting for tasks to finish after this long. */
  readonly settleTimeoutMs: number;
  /**
   * Owners the tasks are spread over (round robin), each under the concurrency limit: the limit binds per
   * owner, and the queue's fair ordering sees as many groups. Enough of them that the run's backlog drains
   * within its short stale time, as a deployment's does within 45 minutes: one owner with every task behind
   * 5 slots would leave messages in the queue longer than the sweep waits for them.
   * @default one owner per 500 tasks (`npm test`'s run of 200 has a single owner, whose limit binds most)
   */
  readonly owners?: number;
}

export const DEFAULT_CHAOS: ChaosOptions = {
  tasks: 1_000,
  concurrency: 16,
  submitRatePerSecond: 20,
  faults: { error: 0.06, lostReply: 0.05, latency: 0.1, maxLatencyMs: 50 },
  killRate: 0.01,
  dropResponseRate: 0.02,
  duplicateRate: 0.05,
  cancelRate: 0.05,
  keylessRate: 0.2,
  highPriorityRate: 0.05,
  taskDataRate: 0.1,
  callbackRate: 0.15,
  callbackFailureRate: 0.3,
  poisonTasks: 2,
  orphanProbes: 2,
  settleTimeoutMs: 150_000,
};

/** How often each recovery path ran: a path that never ran proved nothing, so the run fails. */
export interface ChaosPaths {
  /** A retryable failure put its attempt back to QUEUED (TaskRetried). */
  readonly release: number;
  /** A message found its task not claimable yet and was made to wait (MessageDeferred). */
  readonly retryLater: number;
  /** A claim took over an attempt whose lease had expired (TaskTakenOver). */
  readonly claimTakeover: number;
  /** The dead-letter handler failed an abandoned task (FAILED DeadLettered, seen in the table). */
  readonly deadLetter: number;
  /** The recovery sweep re-enqueued a task whose message was missing. */
  readonly sweepReenqueue: number;
  /** The operator's redrive put a dead-lettered task back to work. */
  readonly redrive: number;
  /** A write whose reply was lost was recognised as our own (WriteRecovered). */
  readonly lostReplyRecovery: number;
  /** A message found every slot of its owner's concurrency limit taken and waited, its task QUEUED (OwnerSlotWait). */
  readonly ownerSlotWait: number;
  /** A call to the task data bucket (a payload or result kept there) failed, stalled or lost its reply. */
  readonly taskDataFault: number;
  /** The receiver answered a callback with a 500, so its delivery was retried. */
  readonly callbackRetry: number;
}

/** Broken promises, each counted; every one must be 0. */
export interface ChaosViolations {
  /** Accepted tasks missing from the table. */
  readonly lost: number;
  /** Tasks not terminal when the run gave up waiting. */
  readonly stuck: number;
  /** Two executions of one task running at the same time. */
  readonly overlappingExecutions: number;
  /** An execution that started after its task was recorded SUCCEEDED or CANCELLED. */
  readonly executionAfterTerminal: number;
  /** A final status other than what the last execution allowed to finish says. */
  readonly statusMismatch: number;
  /**
   * A task the sweep re-enqueued though its submission was accepted without any 503, it was not waiting for a
   * slot of its owner (whose delayed message may lag behind a backlog longer than the run's short stale time),
   * and it was not a poison task (whose message went to the dead-letter queue).
   */
  readonly unexplainedSweepReenqueue: number;
  /** An Idempotency-Key that ended up with more than one task. */
  readonly keysWithManyTasks: number;
  /** An execution that started while the owner already had its concurrency limit of executions running. */
  readonly ownerConcurrency: number;
  /**
   * A task with a callback whose end the receiver never acknowledged (its callback not DELIVERED, or no
   * 2xx-answered event with the task's final status and `finishedAt`).
   */
  readonly callbackUndelivered: number;
}

export interface ChaosReport {
  readonly tasks: number;
  readonly accepted: number;
  readonly terminal: number;
  readonly lost: number;
  readonly stuck: number;
  readonly doubleEffects: number;
  readonly keysWithManyTasks: number;
  readonly submitRetries: number;
  /** HTTP statuses of the submissions that had to be retried. */
  readonly rejectedWith: Record<string, number>;
  readonly byStatus: Record<string, number>;
  /** Tasks by the priority stored with them: high ones ran through their own queue and mapping. */
  readonly byPriority: Record<string, number>;
  readonly executions: number;
  /**
   * Sweep re-enqueues of tasks waiting for an owner's slot, past their noted wait: spares the sweep sends
   * when waiting messages lag behind the queue (not violations; the second copy of a waiter stops).
   */
  readonly sweepSparesForWaiters: number;
  readonly paths: ChaosPaths;
  readonly violations: ChaosViolations;
  readonly faultsInjected: Record<string, number>;
  /** A few of the tasks left unfinished, to start an investigation from. */
  readonly stuckSample: readonly Partial<Task>[];
  /** A few of the tasks the sweep re-enqueued unexplained: their timeline, in seconds from the run's start. */
  readonly unexplainedSweepSample: readonly Record<string, unknown>[];
  /** A few of the tasks whose callback was not acknowledged: what the table and the receiver say of each. */
  readonly undeliveredSample: readonly Record<string, unknown>[];
  readonly seconds: number;
}

/** A run passes when no violation happened and every path ran. */
export const chaosPassed = (report: ChaosReport): boolean =>
  Object.values(report.violations).every((n) => n === 0) && Object.values(report.paths).every((n) => n > 0);

/**
 * The deployed queue and attempt settings (maxReceiveCount 5, 3 attempts); only times shrink, so
 * that a crash is taken over in seconds: a 3-s worker, a 5-s visibility timeout, and a sweep stale
 * time that keeps the production ratio to the dead-letter horizon (45 min to 30 min).
 */
const VISIBILITY_SECONDS = 5;
/**
 * The per-owner concurrency limit of the run: half the worker's concurrency, so the limit, not the worker,
 * binds. Its waits keep the production default (60 s): shorter ones only poll more, and under a long
 * backlog of waiting messages the run's short sweep stale time would send spares.
 */
export const CHAOS_OWNER_MAX_RUNNING = 5;
const chaosSettings: Settings = {
  ...settings,
  fairness: {
    ...settings.fairness,
    ownerConcurrency: { enabled: true, maxRunning: CHAOS_OWNER_MAX_RUNNING, maxWaitSeconds: 60 },
  },
  worker: { ...settings.worker, timeoutSeconds: 3 },
  tasks: {
    ...settings.tasks,
    retryBaseDelaySeconds: 1,
    retryMaxDelaySeconds: 2,
    cancelCheckSeconds: 1,
    leaseGraceSeconds: 1,
  },
  local: { ...settings.local, pollWaitSeconds: 1 },
  recovery: {
    ...settings.recovery,
    staleAfterSeconds: Math.ceil(1.5 * (settings.queue.maxReceiveCount * VISIBILITY_SECONDS + 1)),
    localIntervalSeconds: 2,
  },
  // Delivery times shrink with the sweep's, and the backoff with the tasks': under the production one (5 s,
  // doubling), six refusals in a row (30% each, 2% of runs) put the next attempt minutes after the task ended,
  // past the run's settle time, and the callback was counted undelivered though still on its way.
  callbacks: {
    ...settings.callbacks,
    requestTimeoutSeconds: 1,
    timeoutSeconds: 3,
    maxReceiveCount: 2,
    retryBaseDelaySeconds: 1,
    retryMaxDelaySeconds: 2,
  },
};

const ORPHAN_LABEL = 'orphan-probe';
/** Characters of payload and result filler for the task-data share: twice the inline threshold. */
const TASK_DATA_BYTES = 2_048;
/** Tasks per owner unless the options say how many owners: a backlog one owner's 5 slots drain within the stale time. */
const TASKS_PER_OWNER = 500;

/** The run's owners: `chaos-0` … `chaos-<owners − 1>`. */
const ownerOf = (index: number, owners: number) => `chaos-${index % Math.max(1, owners)}`;

/**
 * Drives tasks through the HTTP API of an in-process local stack while SDK calls fail, stall and
 * lose replies (inside and outside the SDK's retries), worker environments die mid-attempt or
 * before the handler, responses are dropped, messages duplicated and tasks cancelled at random
 * moments; dead-lettered tasks are redriven as an operator would. Then it checks every promise of
 * the lifecycle. One run per process: the stack and the fault hooks are global.
 */
export async function runChaos(given: ChaosOptions = DEFAULT_CHAOS): Promise<ChaosReport> {
  const options = { ...given, owners: given.owners ?? Math.max(1, Math.round(given.tasks / TASKS_PER_OWNER)) };
  const started = Date.now();
  const faultCounts: FaultCounts = {};
  const countFault = (key: string) => {
    faultCounts[key] = (faultCounts[key] ?? 0) + 1;
  };
  const harnessFaults: FaultCounts = { workerKilled: 0, responseDropped: 0, poisonRecord: 0, duplicate: 0, cancel: 0 };
  const bump = (key: string) => {
    harnessFaults[key] = (harnessFaults[key] ?? 0) + 1;
  };

  // The API, dead-letter and sweep run in this thread; the worker in threads that load thread-faults.ts.
  const orphans = new Map<string, Set<string>>();
  injectSdkFaults(options.faults, countFault, Math.random, (operation, input) =>
    orphanProbeFault(operation, input, orphans, options.orphanProbes),
  );
  const ledger = collectLedger();
  const metrics = new Map<string, number>();
  const sweptIds: string[] = [];
  const sweptAt = new Map<string, number[]>();
  const sweptWaitingIds = new Set<string>();
  let swept = 0;
  const poisoned = new Set<string>();
  const cured = new Set<string>();

  const receiver = await startCallbackReceiver(options.callbackFailureRate);
  const stack = await startLocalStack({
    port: 0,
    diagnosticTasks: true,
    // The receiver listens on 127.0.0.1, which only this flag lets a callback reach.
    allowLocalCallbacks: true,
    logLevel: 'SILENT',
    settings: chaosSettings,
    visibilityTimeoutSeconds: VISIBILITY_SECONDS,
    // Ten cold starts at once on two cores would outlast the short visibility timeout of the run.
    prewarmWorkers: chaosSettings.worker.maxConcurrency,
    workerThreadSetup: { module: new URL('./thread-faults.ts', import.meta.url).href, options: options.faults },
    onWorkerReport: (payload) => countFault((payload as { fault: string }).fault),
    onMetricEvents: (events) => addMetrics(metrics, events),
    onSweep: (report) => {
      swept += report.requeued;
      sweptIds.push(...report.requeuedTaskIds);
      for (const id of report.requeuedTaskIds) sweptAt.set(id, [...(sweptAt.get(id) ?? []), Date.now()]);
      for (const id of report.requeuedWaitingTaskIds) sweptWaitingIds.add(id);
    },
    faults: {
      dropResponse: () => roll(options.dropResponseRate, () => bump('responseDropped')),
      killAfterMs: () =>
        roll(options.killRate, () => bump('workerKilled')) ? Math.floor(Math.random() * 2_500) : undefined,
      failBeforeClaim: (record) => {
        const taskId = taskIdOf(record.body);
        const poison = poisoned.has(taskId) && !cured.has(taskId);
        if (poison) bump('poisonRecord');
        return poison;
      },
    },
  });
  const tokens = new Map<string, string>();
  for (let i = 0; i < Math.max(1, options.owners); i++) {
    const owner = ownerOf(i, options.owners);
    tokens.set(owner, await mintDevToken(stack.devKey, { sub: owner }));
  }
  const tokenOf = (submission: Submission) => tokens.get(submission.owner) ?? '';
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.endpoints.sqs, credentials });
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: stack.endpoints.dynamodb, credentials });
  const documents = DynamoDBDocumentClient.from(dynamodb);
  // The harness's own client (no faults): it reads back the results kept in the bucket.
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.endpoints.s3, forcePathStyle: true, credentials });
  const operator = {
    store: new DynamoTaskStore(documents, stack.resources.tableName),
    // The operator's redrive sends each task back to its own lane and priority, as npm run redrive does.
    queue: new SqsTaskQueue(sqs, stack.resources.queueUrl, { lanes: stack.resources.laneTable }),
    clock: () => new Date(),
    log: silentLog,
  };

  try {
    const disturbances: Promise<void>[] = [];
    const submissions = plan(options, poisoned, receiver.url);
    await submitAll(stack.url, tokenOf, submissions, options, (submission) => {
      // A duplicate arrives on the queue the task's own messages use.
      const queueUrl = submission.high ? stack.resources.highPriorityQueueUrl : stack.resources.queueUrl;
      disturbances.push(disturb(submission, stack.url, tokenOf(submission), sqs, queueUrl, options, bump));
    });
    await Promise.all(disturbances);

    // The operator's part: once a dead-lettered task's cause is gone (cured), redrive it.
    const redriven = new Set<string>();
    const tasks = await settle(documents, stack.resources.tableName, options.settleTimeoutMs, async (all) => {
      const deadLettered = all.filter((t) => t.error?.code === DEAD_LETTERED_CODE && !redriven.has(t.taskId));
      for (const task of deadLettered) {
        cured.add(task.taskId);
        redriven.add(task.taskId);
      }
      if (deadLettered.length > 0) {
        await redriveDeadLetters({ taskIds: deadLettered.map((t) => t.taskId), extraAttempts: 3 }, operator);
      }
      // Done once no callback is still on its way either.
      return deadLettered.length === 0 && !all.some(hasPendingCallback);
    });

    const accepted = submissions.filter((s) => s.taskId !== undefined);
    const byId = new Map(tasks.map((task) => [task.taskId, task]));
    const byStatus: Record<string, number> = {};
    for (const task of tasks) byStatus[task.status] = (byStatus[task.status] ?? 0) + 1;
    const executions = ledger.executions(chaosSettings.worker.timeoutSeconds * 1000);
    const checks = checkExecutions(byId, await resultsOf(tasks, s3, stack.resources.taskDataBucket), executions);
    const keyCounts = new Map<string, number>();
    for (const task of tasks) {
      if (task.idempotencyKey) keyCounts.set(task.idempotencyKey, (keyCounts.get(task.idempotencyKey) ?? 0) + 1);
    }
    const keysWithManyTasks =
      [...keyCounts.values()].filter((n) => n > 1).length +
      accepted.filter((s) => s.key !== undefined && s.taskId !== taskIdFromKey(`jwt:${s.owner}`, s.key)).length;
    const acceptedWithout503 = new Set(accepted.filter((s) => !s.statuses.includes(503)).map((s) => s.taskId));
    const undelivered = accepted.filter((submission) => {
      if (!submission.callback) return false;
      const task = byId.get(submission.taskId ?? '');
      const acknowledged = receiver.acknowledged.get(submission.taskId ?? '') ?? [];
      return (
        task?.callback?.status !== 'DELIVERED' ||
        !acknowledged.some((event) => event.status === task.status && event.timestamp === task.finishedAt)
      );
    });
    // A poison task's message is in the dead-letter queue, not the work queue: until the dead-letter handler
    // fails the task (after a fault, a visibility timeout of that queue later), the sweep rightly finds a
    // QUEUED task nothing drives, as it would in a deployment.
    const unexplainedSweeps = [...new Set(sweptIds)].filter(
      (id) => acceptedWithout503.has(id) && !sweptWaitingIds.has(id) && !poisoned.has(id),
    );
    const violations: ChaosViolations = {
      lost: accepted.filter((s) => !byId.has(s.taskId ?? '')).length,
      stuck: tasks.filter((task) => !isTerminal(task.status)).length,
      overlappingExecutions: checks.overlapping,
      executionAfterTerminal: checks.afterTerminal,
      statusMismatch: checks.statusMismatch,
      unexplainedSweepReenqueue: unexplainedSweeps.length,
      keysWithManyTasks,
      // At no moment may more of one owner's executions run than the limit.
      callbackUndelivered: undelivered.length,
      ownerConcurrency: executionsOverLimit(
        executions,
        new Map(accepted.map((s) => [s.taskId ?? '', s.owner])),
        CHAOS_OWNER_MAX_RUNNING,
      ),
    };
    const metric = (name: string) => metrics.get(name) ?? 0;
    return {
      tasks: options.tasks,
      accepted: accepted.length,
      terminal: accepted.filter((s) => isTerminal(byId.get(s.taskId ?? '')?.status ?? 'QUEUED')).length,
      lost: violations.lost,
      stuck: violations.stuck,
      doubleEffects: checks.overlapping + checks.afterTerminal,
      keysWithManyTasks,
      submitRetries: submissions.reduce((sum, s) => sum + s.statuses.length, 0),
      rejectedWith: countBy(submissions.flatMap((s) => s.statuses)),
      byStatus,
      byPriority: countBy(tasks.map((task) => task.priority ?? 'normal')),
      executions: executions.length,
      sweepSparesForWaiters: sweptIds.filter((id) => sweptWaitingIds.has(id)).length,
      paths: {
        release: metric(TASK_COUNTS.retried),
        retryLater: metric(RECOVERY_COUNTS.deferred),
        claimTakeover: metric(RECOVERY_COUNTS.takenOver),
        // Seen in the table rather than in the dead-letter handler's metric: that handler runs in this
        // process, whose console a test runner may take over, while the worker threads' lines always reach us.
        deadLetter: redriven.size,
        // An orphan has no message but the sweep's: one that finished was re-enqueued, even when the report of
        // that sweep was lost (a fault later in the same run of the sweep fails it after the send).
        sweepReenqueue: Math.max(
          swept,
          [...orphans]
            .filter(([, state]) => !state.has('candidate'))
            .filter(([taskId]) => isTerminal(byId.get(taskId)?.status ?? 'QUEUED')).length,
        ),
        redrive: redriven.size,
        lostReplyRecovery: metric(RECOVERY_COUNTS.writeRecovered),
        ownerSlotWait: metric(FAIR_SHARE_COUNTS.ownerSlotWait),
        callbackRetry: receiver.refused(),
        taskDataFault: Object.entries(faultCounts)
          .filter(([key]) => key.startsWith('S3.'))
          .reduce((sum, [, n]) => sum + n, 0),
      },
      violations,
      faultsInjected: { ...harnessFaults, ...summarize(faultCounts) },
      stuckSample: tasks
        .filter((task) => !isTerminal(task.status))
        .slice(0, 5)
        .map(({ payload: _payload, payloadHash: _hash, ...task }) => ({
          ...task,
          swept: sweptIds.includes(task.taskId),
        })),
      unexplainedSweepSample: unexplainedSweeps.slice(0, 5).map((taskId) => {
        const task = byId.get(taskId);
        const at = (ms: number | string | undefined) =>
          ms === undefined ? undefined : Math.round((new Date(ms).getTime() - started) / 100) / 10;
        return {
          taskId,
          status: task?.status,
          priority: task?.priority,
          attempt: task?.attempt,
          createdAt: at(task?.createdAt),
          finishedAt: at(task?.finishedAt),
          sweptAt: (sweptAt.get(taskId) ?? []).map(at),
          executions: executions
            .filter((e) => e.taskId === taskId)
            .map((e) => [at(e.startedAt), at(e.endedAt), e.outcome]),
        };
      }),
      undeliveredSample: undelivered.slice(0, 5).map(({ taskId = '' }) => {
        const { status, finishedAt, callback, attempt, error } = byId.get(taskId) ?? {};
        return {
          taskId,
          status,
          finishedAt,
          callback,
          attempt,
          error,
          acknowledged: receiver.acknowledged.get(taskId) ?? [],
        };
      }),
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    ledger.close();
    sqs.destroy();
    dynamodb.destroy();
    s3.destroy();
    await stack.stop();
    await receiver.stop();
  }
}

interface Submission {
  readonly owner: string;
  /** Submitted with a callbackUrl. */
  readonly callback: boolean;
  /** Absent for a keyless submission: each try may then create a task of its own. */
  readonly key?: string;
  readonly body: string;
  /** Submitted at high priority. */
  readonly high: boolean;
  /** Statuses of the tries that were refused. */
  readonly statuses: number[];
  taskId?: string;
}

/** The workload: mostly short tasks, some flaky, some failing for good, some too long for their worker. */
function plan(
  options: ChaosOptions & { readonly owners: number },
  poisoned: Set<string>,
  callbackUrl: string,
): Submission[] {
  return Array.from({ length: options.tasks }, (_, i) => {
    const orphanProbe = i < options.orphanProbes;
    const poison = !orphanProbe && i < options.orphanProbes + options.poisonTasks;
    const keyless = orphanProbe || (!poison && Math.random() < options.keylessRate);
    const key = keyless ? undefined : randomUUID();
    const owner = ownerOf(i, options.owners);
    if (poison && key) poisoned.add(taskIdFromKey(`jwt:${owner}`, key));
    const kind = Math.random();
    // Long ones run 1-3.5 s against a 3-s worker: some end in time, some time out on every attempt.
    const payload =
      kind < 0.1
        ? { ms: random(0, 100), failures: random(1, 2) }
        : kind < 0.15
          ? { ms: random(0, 100), permanent: true }
          : kind < 0.2
            ? { ms: random(1_000, 3_500) }
            : { ms: random(0, 200) };
    const high = Math.random() < options.highPriorityRate;
    const taskData = !orphanProbe && Math.random() < options.taskDataRate;
    const callback = !orphanProbe && Math.random() < options.callbackRate;
    // Fixed per submission: a keyed retry must send the same body, or its key is (rightly) refused with 409.
    const body = JSON.stringify({
      type: 'ledger',
      payload: orphanProbe
        ? { ...payload, label: ORPHAN_LABEL }
        : taskData
          ? { ...payload, padding: 'p'.repeat(TASK_DATA_BYTES), resultPadding: TASK_DATA_BYTES }
          : payload,
      ...(high && { priority: 'high' }),
      ...(callback && { callbackUrl }),
    });
    return { owner, callback, ...(key && { key }), body, high, statuses: [] };
  });
}

/** Each submission retries until the API accepts it, as a careful client does (with its key, when it has one). */
async function submitAll(
  url: string,
  tokenOf: (submission: Submission) => string,
  submissions: Submission[],
  pace: Pick<ChaosOptions, 'concurrency' | 'submitRatePerSecond'>,
  onAccepted: (submission: Submission) => void,
): Promise<void> {
  let next = 0;
  const started = Date.now();
  const submitOne = async (submission: Submission) => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const response = await fetch(`${url}/tasks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokenOf(submission)}`,
          'content-type': 'application/json',
          ...(submission.key && { 'idempotency-key': submission.key }),
        },
        body: submission.body,
      }).catch(() => undefined);
      if (response?.ok) {
        submission.taskId = ((await response.json()) as { taskId: string }).taskId;
        onAccepted(submission);
        return;
      }
      submission.statuses.push(response?.status ?? 0);
      await response?.body?.cancel();
      await sleep(20 * 2 ** Math.min(attempt, 5) * Math.random());
    }
  };
  await Promise.all(
    Array.from({ length: pace.concurrency }, async () => {
      while (next < submissions.length) {
        const index = next++;
        const submission = submissions[index];
        const due = started + (index * 1000) / pace.submitRatePerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
        if (submission) await submitOne(submission);
      }
    }),
  );
}

/** At a random moment after acceptance: a duplicate message (as SQS sometimes sends one) or a cancellation. */
async function disturb(
  submission: Submission,
  url: string,
  token: string,
  sqs: SQSClient,
  queueUrl: string,
  options: ChaosOptions,
  bump: (key: string) => void,
): Promise<void> {
  await Promise.all([
    (async () => {
      if (!roll(options.duplicateRate, () => bump('duplicate'))) return;
      await sleep(Math.random() * 1_500);
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ taskId: submission.taskId }) }),
      );
    })(),
    (async () => {
      if (!roll(options.cancelRate, () => bump('cancel'))) return;
      await sleep(Math.random() * 1_500);
      const response = await fetch(`${url}/tasks/${submission.taskId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      }).catch(() => undefined);
      await response?.body?.cancel();
    })(),
  ]);
}

/**
 * Reads the table directly (no injected faults) until nothing is QUEUED or RUNNING and `operator`
 * has nothing left to do, or time runs out.
 */
async function settle(
  documents: DynamoDBDocumentClient,
  tableName: string,
  timeoutMs: number,
  operator: (tasks: Task[]) => Promise<boolean>,
): Promise<Task[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks: Task[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: cursor }));
      tasks.push(...((page.Items ?? []) as Task[]));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    const idle = await operator(tasks);
    if ((idle && tasks.every((task) => isTerminal(task.status))) || Date.now() > deadline) return tasks;
    await sleep(500);
  }
}

interface Execution {
  readonly taskId: string;
  readonly attempt: number;
  readonly startedAt: number;
  /** When it ended; for one whose environment was ended, the latest it can have run to. */
  readonly endedAt: number;
  /** Undefined when its environment was ended before it could say. */
  readonly outcome?: 'ok' | 'aborted' | 'retryable' | 'permanent';
}

/** Listens to the `ledger` task's announcements from every worker thread. */
function collectLedger() {
  const events: LedgerEvent[] = [];
  const channel = new BroadcastChannel(LEDGER_CHANNEL);
  channel.onmessage = (message) => events.push((message as { data: LedgerEvent }).data);
  return {
    executions(workerTimeoutMs: number): Execution[] {
      const ends = new Map<string, LedgerEvent & { event: 'end' }>();
      for (const event of events) if (event.event === 'end') ends.set(`${event.taskId}/${event.attempt}`, event);
      return events.flatMap((event) => {
        if (event.event !== 'start') return [];
        const end = ends.get(`${event.taskId}/${event.attempt}`);
        return [
          {
            taskId: event.taskId,
            attempt: event.attempt,
            startedAt: event.at,
            endedAt: end?.at ?? event.at + workerTimeoutMs,
            outcome: end?.outcome,
          },
        ];
      });
    },
    close: () => channel.close(),
  };
}

/** Each SUCCEEDED task's result: from its item, or from the task data bucket when it is kept there. */
async function resultsOf(tasks: readonly Task[], s3: S3Client, bucket: string): Promise<Map<string, unknown>> {
  const results = new Map<string, unknown>();
  for (const task of tasks.filter((t) => t.status === 'SUCCEEDED')) {
    if (!task.resultRef) {
      results.set(task.taskId, task.result);
      continue;
    }
    const object = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: task.resultRef.key }))
      .catch(() => undefined);
    const text = await object?.Body?.transformToString();
    results.set(task.taskId, text === undefined ? undefined : JSON.parse(text));
  }
  return results;
}

/** Overlaps, executions after a terminal state, and final states the executions do not explain. */
function checkExecutions(
  tasks: ReadonlyMap<string, Task>,
  results: ReadonlyMap<string, unknown>,
  executions: readonly Execution[],
) {
  const byTask = new Map<string, Execution[]>();
  for (const execution of executions)
    byTask.set(execution.taskId, [...(byTask.get(execution.taskId) ?? []), execution]);
  let overlapping = 0;
  let afterTerminal = 0;
  let statusMismatch = 0;
  for (const [taskId, runs] of byTask) {
    const task = tasks.get(taskId);
    const sorted = [...runs].sort((a, b) => a.startedAt - b.startedAt);
    sorted.forEach((run, i) => {
      const previous = sorted[i - 1];
      if (previous && run.startedAt < previous.endedAt) overlapping++;
    });
    const finishedAt =
      (task?.status === 'SUCCEEDED' || task?.status === 'CANCELLED') && task.finishedAt
        ? Date.parse(task.finishedAt)
        : Number.POSITIVE_INFINITY;
    afterTerminal += sorted.filter((run) => run.startedAt > finishedAt).length;
    // The last execution that ran to its end decides a SUCCEEDED or a permanently FAILED task.
    const last = [...sorted].reverse().find((run) => run.outcome !== undefined);
    if (task?.status === 'SUCCEEDED') {
      // The result as stored (a missing result object counts as a mismatch).
      const result = results.get(taskId) as { attempt?: number } | undefined;
      if (last?.outcome !== 'ok' || last.attempt !== task.attempt || result?.attempt !== task.attempt) {
        statusMismatch++;
      }
    } else if (task?.status === 'FAILED' && task.error?.code === 'LedgerPermanent') {
      if (last?.outcome !== 'permanent' || last.attempt !== task.attempt) statusMismatch++;
    }
  }
  return { overlapping, afterTerminal, statusMismatch };
}

/**
 * Executions that started while `limit` others of the same owner were running: each start is checked
 * against that owner's executions running then (one whose environment was ended counts until the latest
 * it can have run to).
 */
function executionsOverLimit(
  executions: readonly Execution[],
  ownerOfTask: ReadonlyMap<string, string>,
  limit: number,
): number {
  const sorted = [...executions].sort((a, b) => a.startedAt - b.startedAt);
  let over = 0;
  for (const [index, run] of sorted.entries()) {
    const owner = ownerOfTask.get(run.taskId);
    const alongside = sorted
      .slice(0, index)
      .filter((earlier) => ownerOfTask.get(earlier.taskId) === owner && earlier.endedAt > run.startedAt).length;
    if (alongside >= limit) over++;
  }
  return over;
}

/**
 * The scripted fault behind `orphanProbes`: a keyless probe's first send and the discard that
 * follows it both fail, so the API answers 503 and the record stays for the recovery sweep, the one
 * way a 503 can leave work behind. The sweep's own send for it then goes through.
 */
function orphanProbeFault(
  operation: string,
  input: Record<string, unknown>,
  orphans: Map<string, Set<string>>,
  limit: number,
): 'lostRequest' | undefined {
  if (operation === 'DynamoDB.PutItem') {
    const item = input.Item as { taskId?: string; payload?: { label?: string } } | undefined;
    // A candidate until its record is written (the put itself may fail): its send proves that.
    if (item?.payload?.label === ORPHAN_LABEL && item.taskId) orphans.set(item.taskId, new Set(['candidate']));
    return undefined;
  }
  const taskId =
    operation === 'SQS.SendMessage'
      ? (JSON.parse(String(input.MessageBody ?? '{}')) as { taskId?: string }).taskId
      : operation === 'DynamoDB.DeleteItem'
        ? (input.Key as { taskId?: string } | undefined)?.taskId
        : undefined;
  const failed = taskId === undefined ? undefined : orphans.get(taskId);
  if (!failed || failed.has(operation)) return undefined;
  if (failed.has('candidate')) {
    const confirmed = [...orphans.values()].filter((state) => !state.has('candidate')).length;
    if (operation !== 'SQS.SendMessage' || confirmed >= limit) return undefined;
    failed.delete('candidate');
  }
  failed.add(operation);
  return 'lostRequest';
}

function addMetrics(totals: Map<string, number>, events: readonly EmfEvent[]): void {
  // One event per EMF document: its values count once, whatever dimension sets the document declares.
  for (const event of events) {
    for (const metric of event.metrics) {
      totals.set(metric.name, (totals.get(metric.name) ?? 0) + metric.values.reduce((a, b) => a + b, 0));
    }
  }
}

function taskIdOf(body: string): string {
  try {
    return String((JSON.parse(body) as { taskId?: string }).taskId);
  } catch {
    return '';
  }
}

function roll(rate: number, onHit: () => void): boolean {
  const hit = Math.random() < rate;
  if (hit) onHit();
  return hit;
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

function countBy(values: readonly (string | number)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** One event the receiver answered with a 2xx. */
interface AcknowledgedEvent {
  readonly status: string;
  readonly timestamp: string;
}

/**
 * A callback receiver on 127.0.0.1: answers a share of the deliveries with a 500 (they are retried), the
 * rest with a 204, and notes the events it acknowledged, by task.
 */
async function startCallbackReceiver(failureRate: number) {
  const acknowledged = new Map<string, AcknowledgedEvent[]>();
  let refused = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (Math.random() < failureRate) {
        refused++;
        res.statusCode = 500;
        res.end();
        return;
      }
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        timestamp: string;
        data: { taskId: string; status: string };
      };
      const events = acknowledged.get(event.data.taskId) ?? [];
      acknowledged.set(event.data.taskId, [...events, { status: event.data.status, timestamp: event.timestamp }]);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    acknowledged,
    refused: () => refused,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
