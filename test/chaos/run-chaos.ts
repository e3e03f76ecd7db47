import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { taskIdFromKey } from '../../functions/api/submit-task.js';
import { executionLedger } from '../../functions/tasks/diagnostic.js';
import { mintDevToken } from '../../infra/local/dev-key.js';
import { startLocalStack } from '../../infra/local/local-stack.js';
import { type Settings, settings } from '../../infra/settings.js';
import { isTerminal, type Task } from '../../shared/task.js';
import { type FaultCounts, injectSdkFaults } from './fault-injector.js';

export interface ChaosOptions {
  readonly tasks: number;
  /** Submissions in flight at once. */
  readonly concurrency: number;
  readonly sdkErrorRate: number;
  readonly sdkLatencyRate: number;
  readonly crashRate: number;
  readonly duplicateRate: number;
  readonly cancelRate: number;
  /** Give up waiting for tasks to finish after this long. */
  readonly settleTimeoutMs: number;
}

export const DEFAULT_CHAOS: ChaosOptions = {
  tasks: 1_000,
  concurrency: 16,
  sdkErrorRate: 0.1,
  sdkLatencyRate: 0.1,
  crashRate: 0.05,
  duplicateRate: 0.05,
  cancelRate: 0.05,
  settleTimeoutMs: 120_000,
};

export interface ChaosReport {
  readonly tasks: number;
  readonly accepted: number;
  readonly terminal: number;
  readonly lost: number;
  readonly doubleEffects: number;
  readonly stuck: number;
  readonly keysWithManyTasks: number;
  readonly submitRetries: number;
  /** HTTP statuses of the submissions that had to be retried. */
  readonly rejectedWith: Record<string, number>;
  readonly byStatus: Record<string, number>;
  readonly executions: number;
  readonly faultsInjected: Record<string, number>;
  readonly seconds: number;
}

/** Short timings so redeliveries happen in seconds; maxReceiveCount high so faults alone rarely dead-letter. */
const chaosSettings: Settings = {
  ...settings,
  worker: { ...settings.worker, timeoutSeconds: 2 },
  queue: { ...settings.queue, maxReceiveCount: 20 },
  tasks: {
    ...settings.tasks,
    retryBaseDelaySeconds: 1,
    retryMaxDelaySeconds: 2,
    cancelCheckSeconds: 1,
    defaultMaxAttempts: 10,
    leaseGraceSeconds: 1,
  },
  local: { ...settings.local, pollWaitSeconds: 1 },
  // A submission whose client gave up after the record was written has no message: the sweep finds it.
  recovery: { ...settings.recovery, staleAfterSeconds: 6, localIntervalSeconds: 2 },
};

/**
 * Drives tasks through the HTTP API of an in-process local stack while SDK calls fail and stall,
 * worker invocations crash, messages are duplicated and tasks cancelled; then checks that every
 * accepted task ended exactly once. One run per process: the stack and the fault hooks are global.
 */
export async function runChaos(options: ChaosOptions = DEFAULT_CHAOS): Promise<ChaosReport> {
  const started = Date.now();
  const sdkFaults = injectSdkFaults({ error: options.sdkErrorRate, latency: options.sdkLatencyRate, maxLatencyMs: 50 });
  const faults: FaultCounts = { workerCrash: 0, duplicateDelivery: 0, cancel: 0 };
  const stack = await startLocalStack({
    port: 0,
    diagnosticTasks: true,
    logLevel: 'SILENT',
    // Thousands of EMF lines would only flood the output; the run checks the table and the ledger.
    metrics: false,
    settings: chaosSettings,
    visibilityTimeoutSeconds: 4,
    faults: {
      dropResponse: () => {
        const crash = Math.random() < options.crashRate;
        if (crash) faults.workerCrash = (faults.workerCrash ?? 0) + 1;
        return crash;
      },
    },
  });
  const owner = 'chaos';
  const token = await mintDevToken(stack.devKey, { sub: owner });
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.endpoints.sqs, credentials });
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: stack.endpoints.dynamodb, credentials });
  const documents = DynamoDBDocumentClient.from(dynamodb);

  try {
    const target = { url: stack.url, token, sqs, queueUrl: stack.resources.queueUrl };
    const submissions = await submitAll(stack.url, token, options, (s) => disturb(s, target, options, faults));
    const accepted = submissions.filter((s) => s.taskId !== undefined);

    const tasks = await settle(documents, stack.resources.tableName, options.settleTimeoutMs);
    const byId = new Map(tasks.map((task) => [task.taskId, task]));
    const byStatus: Record<string, number> = {};
    for (const task of tasks) byStatus[task.status] = (byStatus[task.status] ?? 0) + 1;
    const keyCounts = new Map<string, number>();
    for (const task of tasks) {
      if (task.idempotencyKey) keyCounts.set(task.idempotencyKey, (keyCounts.get(task.idempotencyKey) ?? 0) + 1);
    }
    const acceptedTasks = accepted.map((s) => byId.get(s.taskId ?? ''));
    return {
      tasks: options.tasks,
      accepted: accepted.length,
      terminal: acceptedTasks.filter((task) => task && isTerminal(task.status)).length,
      lost: acceptedTasks.filter((task) => !task).length,
      doubleEffects: countDoubleEffects(byId),
      stuck: tasks.filter((task) => !isTerminal(task.status)).length,
      // Every retried submission must map to its key's one task.
      keysWithManyTasks:
        [...keyCounts.values()].filter((n) => n > 1).length +
        accepted.filter((s) => s.taskId !== taskIdFromKey(`jwt:${owner}`, s.key)).length,
      submitRetries: submissions.reduce((sum, s) => sum + s.retries, 0),
      rejectedWith: countBy(submissions.flatMap((s) => s.statuses)),
      byStatus,
      executions: executionLedger.length,
      faultsInjected: { ...faults, ...summarize(sdkFaults) },
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    sqs.destroy();
    dynamodb.destroy();
    await stack.stop();
  }
}

interface Submission {
  readonly key: string;
  readonly body: string;
  readonly statuses: number[];
  taskId?: string;
  retries: number;
}

/** Each submission retries with its Idempotency-Key until the API accepts it, as a careful client does. */
async function submitAll(
  url: string,
  token: string,
  options: ChaosOptions,
  disturb: (accepted: Submission) => Promise<void>,
): Promise<Submission[]> {
  const submissions: Submission[] = Array.from({ length: options.tasks }, () => ({
    key: randomUUID(),
    // Fixed per submission: a retry must send the same body, or its key is (rightly) refused with 409.
    body: JSON.stringify({ type: 'ledger', payload: { ms: Math.floor(Math.random() * 200) } }),
    retries: 0,
    statuses: [],
  }));
  let next = 0;
  const submitOne = async (submission: Submission) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await fetch(`${url}/tasks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': submission.key,
        },
        body: submission.body,
      }).catch(() => undefined);
      if (response?.ok) {
        submission.taskId = ((await response.json()) as { taskId: string }).taskId;
        await disturb(submission);
        return;
      }
      if (response) submission.statuses.push(response.status);
      await response?.body?.cancel();
      submission.retries++;
      await sleep(20 * 2 ** Math.min(attempt, 5) * Math.random());
    }
  };
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < submissions.length) {
        const submission = submissions[next++];
        if (submission) await submitOne(submission);
      }
    }),
  );
  return submissions;
}

/** Right after acceptance: a duplicate delivery (a second message, as SQS sometimes sends) or a cancellation. */
async function disturb(
  submission: Submission,
  target: { url: string; token: string; sqs: SQSClient; queueUrl: string },
  options: ChaosOptions,
  faults: FaultCounts,
): Promise<void> {
  await Promise.all([
    (async () => {
      if (Math.random() < options.duplicateRate) {
        faults.duplicateDelivery = (faults.duplicateDelivery ?? 0) + 1;
        await target.sqs.send(
          new SendMessageCommand({
            QueueUrl: target.queueUrl,
            MessageBody: JSON.stringify({ taskId: submission.taskId, type: 'ledger' }),
            DelaySeconds: Math.floor(Math.random() * 3),
          }),
        );
      }
    })(),
    (async () => {
      if (Math.random() < options.cancelRate) {
        await sleep(Math.random() * 100);
        faults.cancel = (faults.cancel ?? 0) + 1;
        const response = await fetch(`${target.url}/tasks/${submission.taskId}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${target.token}` },
        }).catch(() => undefined);
        await response?.body?.cancel();
      }
    })(),
  ]);
}

/** Reads the table directly (no injected faults) until nothing is QUEUED or RUNNING, or time runs out. */
async function settle(documents: DynamoDBDocumentClient, tableName: string, timeoutMs: number): Promise<Task[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks: Task[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: cursor }));
      tasks.push(...((page.Items ?? []) as Task[]));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    if (tasks.every((task) => isTerminal(task.status)) || Date.now() > deadline) return tasks;
    await sleep(250);
  }
}

/**
 * An execution that started after its task was recorded SUCCEEDED ran a finished task again; two
 * executions of one task that overlap in time ran it twice at once. Both count.
 */
function countDoubleEffects(tasks: ReadonlyMap<string, Task>): number {
  const runs = new Map<string, typeof executionLedger>();
  for (const record of executionLedger) runs.set(record.taskId, [...(runs.get(record.taskId) ?? []), record]);
  let doubles = 0;
  for (const [taskId, records] of runs) {
    const task = tasks.get(taskId);
    const finishedAt = task?.status === 'SUCCEEDED' && task.finishedAt ? Date.parse(task.finishedAt) : Infinity;
    const sorted = [...records].sort((a, b) => a.startedAt - b.startedAt);
    sorted.forEach((record, i) => {
      if (record.startedAt > finishedAt) doubles++;
      const previous = sorted[i - 1];
      if (previous && record.startedAt < previous.endedAt) doubles++;
    });
  }
  return doubles;
}

function countBy(values: readonly (string | number)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function summarize(counts: FaultCounts): Record<string, number> {
  const byKind: Record<string, number> = {};
  for (const [key, n] of Object.entries(counts)) {
    const kind = key.split(':')[1] ?? key;
    byKind[`sdk_${kind}`] = (byKind[`sdk_${kind}`] ?? 0) + n;
  }
  return byKind;
}
