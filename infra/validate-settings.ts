import type { TaskRegistry } from '../functions/tasks/define-task.js';
import { ConfigError } from '../shared/errors.js';
import { MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS, MAX_VISIBILITY_WAIT_SECONDS } from '../shared/time.js';
import { laneProblems } from './lanes.js';
import {
  callbackVisibilityTimeoutSeconds,
  deadLetterHorizonSeconds,
  type Settings,
  visibilityTimeoutSeconds,
} from './settings.js';

/** Lambda's longest timeout. */
const MAX_LAMBDA_TIMEOUT_SECONDS = 900;

/**
 * Every way the settings can contradict each other or an AWS limit, as sentences an operator can
 * act on. The CDK stack and the local stack both refuse to start on any of them, so a setting that
 * would lose or strand tasks fails at `cdk synth` or `npm start`, not in production.
 */
export function settingsProblems(
  s: Settings,
  registry: TaskRegistry,
  visibility: number = visibilityTimeoutSeconds(s.worker),
): string[] {
  const problems: string[] = [];
  const { worker, tasks, queue, recovery } = s;

  if (worker.timeoutSeconds < 1 || worker.timeoutSeconds > MAX_LAMBDA_TIMEOUT_SECONDS) {
    problems.push(
      `worker.timeoutSeconds is ${worker.timeoutSeconds}: Lambda allows 1 to ${MAX_LAMBDA_TIMEOUT_SECONDS}.`,
    );
  }
  if (visibility > MAX_VISIBILITY_SECONDS) {
    problems.push(
      `The visibility timeout (6 × worker.timeoutSeconds + maxBatchingWindowSeconds = ${visibility} s) exceeds SQS's ${MAX_VISIBILITY_SECONDS} s.`,
    );
  }
  if (visibility < worker.timeoutSeconds + tasks.leaseGraceSeconds + 1) {
    problems.push(
      `The visibility timeout (${visibility} s) must exceed worker.timeoutSeconds + tasks.leaseGraceSeconds (${worker.timeoutSeconds + tasks.leaseGraceSeconds} s): a message redelivered while the lease holds only waits, and each wait spends one of its maxReceiveCount receives.`,
    );
  }
  if (worker.maxConcurrency < 2) {
    problems.push(`worker.maxConcurrency is ${worker.maxConcurrency}: an SQS event source mapping needs at least 2.`);
  }
  if (s.dlq.maxConcurrency < 2) {
    problems.push(`dlq.maxConcurrency is ${s.dlq.maxConcurrency}: an SQS event source mapping needs at least 2.`);
  }
  problems.push(...lambdaLimitProblems(s));
  problems.push(...fairnessProblems(s, registry));
  if (worker.batchSize < 1 || worker.batchSize > 10_000) {
    problems.push(`worker.batchSize is ${worker.batchSize}: the mapping takes 1 to 10,000 records.`);
  } else if (worker.batchSize > 10 && worker.maxBatchingWindowSeconds < 1) {
    problems.push(`worker.batchSize ${worker.batchSize} above 10 needs maxBatchingWindowSeconds of at least 1.`);
  }
  if (tasks.retryMaxDelaySeconds < tasks.retryBaseDelaySeconds) {
    problems.push(
      `tasks.retryMaxDelaySeconds (${tasks.retryMaxDelaySeconds}) is below retryBaseDelaySeconds (${tasks.retryBaseDelaySeconds}).`,
    );
  }
  if (tasks.retryMaxDelaySeconds > MAX_VISIBILITY_WAIT_SECONDS) {
    problems.push(
      `tasks.retryMaxDelaySeconds is ${tasks.retryMaxDelaySeconds}: a retry waits on its message's visibility, at most ${MAX_VISIBILITY_WAIT_SECONDS} s (SQS's 12 hours count from the receive).`,
    );
  }
  // A message whose invocations keep crashing is not lost: SQS hands it to the dead-letter queue
  // after maxReceiveCount visibility timeouts. The sweep must not mistake that wait for a loss.
  const deadLetterHorizon = deadLetterHorizonSeconds(s, visibility);
  if (recovery.staleAfterSeconds <= deadLetterHorizon) {
    problems.push(
      `recovery.staleAfterSeconds (${recovery.staleAfterSeconds}) must exceed maxReceiveCount × the visibility timeout + the lease grace (${deadLetterHorizon} s): until then a task's message may still be on its way to the dead-letter queue, and the sweep would re-enqueue a task that is not lost.`,
    );
  }
  if (tasks.leaseGraceSeconds < 0) problems.push('tasks.leaseGraceSeconds must not be negative.');
  if (tasks.cancelCheckSeconds < 1) problems.push('tasks.cancelCheckSeconds must be at least 1.');
  if (tasks.ttlDays < 1) problems.push('tasks.ttlDays must be at least 1.');
  problems.push(...callbackProblems(s));
  problems.push(...scheduleProblems(s));
  problems.push(...taskDataProblems(s));
  for (const [type, definition] of registry) {
    const attempts = definition.maxAttempts ?? tasks.defaultMaxAttempts;
    if (attempts < 1) problems.push(`Task type "${type}" has maxAttempts ${attempts}: at least 1.`);
    // Each attempt is one receive of the task's message; the receive after the last attempt records the exhaustion.
    if (attempts >= queue.maxReceiveCount) {
      problems.push(
        `Task type "${type}" has ${attempts} attempts but queue.maxReceiveCount is ${queue.maxReceiveCount}: SQS would dead-letter its message before the worker records the last attempt's error. Raise maxReceiveCount above ${attempts}.`,
      );
    }
  }
  // Every lane's own numbers, and that each task type's lane exists.
  problems.push(...laneProblems(s, registry, visibility));
  return problems;
}

/** Lambda's memory range, in MiB. */
const LAMBDA_MEMORY_MIB = { min: 128, max: 10_240 } as const;
/** API Gateway gives up on a Lambda integration after 30 s: a longer API timeout only hides a 503. */
const MAX_API_TIMEOUT_SECONDS = 30;

/** Each function's timeout and memory against what Lambda (and, for the API, API Gateway) allows. */
function lambdaLimitProblems(s: Settings): string[] {
  const problems: string[] = [];
  const functions = [
    ['api', s.api, MAX_API_TIMEOUT_SECONDS],
    ['dlq', s.dlq, MAX_LAMBDA_TIMEOUT_SECONDS],
    ['recovery', s.recovery, MAX_LAMBDA_TIMEOUT_SECONDS],
  ] as const;
  for (const [name, fn, maxTimeout] of functions) {
    if (!Number.isInteger(fn.timeoutSeconds) || fn.timeoutSeconds < 1 || fn.timeoutSeconds > maxTimeout) {
      problems.push(`${name}.timeoutSeconds is ${fn.timeoutSeconds}: 1 to ${maxTimeout} whole seconds.`);
    }
  }
  for (const [name, fn] of [
    ['api', s.api],
    ['worker', s.worker],
    ['dlq', s.dlq],
    ['recovery', s.recovery],
    ['callbacks', s.callbacks],
    ['schedules.fire', s.schedules.fire],
  ] as const) {
    if (
      !Number.isInteger(fn.memoryMiB) ||
      fn.memoryMiB < LAMBDA_MEMORY_MIB.min ||
      fn.memoryMiB > LAMBDA_MEMORY_MIB.max
    ) {
      problems.push(
        `${name}.memoryMiB is ${fn.memoryMiB}: Lambda allows ${LAMBDA_MEMORY_MIB.min} to ${LAMBDA_MEMORY_MIB.max} MiB.`,
      );
    }
  }
  if (s.dlq.batchSize < 1 || s.dlq.batchSize > 10) {
    problems.push(`dlq.batchSize is ${s.dlq.batchSize}: 1 to 10 without a batching window.`);
  }
  if (s.api.reservedConcurrency < 1) problems.push('api.reservedConcurrency must be at least 1.');
  if (s.schedules.fire.reservedConcurrency < 1) {
    problems.push('schedules.fire.reservedConcurrency must be at least 1.');
  }
  const tokenMinutes = s.auth.cognitoTokenMinutes;
  if (!Number.isInteger(tokenMinutes) || tokenMinutes < 5 || tokenMinutes > 1_440) {
    problems.push(`The Cognito token lifetime is ${tokenMinutes} minutes: Cognito allows 5 to 1,440.`);
  }
  return problems;
}

/** The completion callbacks' settings against each other, the sweep and AWS's limits. */
function callbackProblems(s: Settings): string[] {
  const problems: string[] = [];
  const c = s.callbacks;
  if (c.timeoutSeconds < 1 || c.timeoutSeconds > MAX_LAMBDA_TIMEOUT_SECONDS) {
    problems.push(`callbacks.timeoutSeconds is ${c.timeoutSeconds}: Lambda allows 1 to ${MAX_LAMBDA_TIMEOUT_SECONDS}.`);
  }
  // The POSTs of a batch run at once; the table read and write before and after need a moment too.
  if (c.requestTimeoutSeconds + 2 > c.timeoutSeconds) {
    problems.push(
      `callbacks.requestTimeoutSeconds (${c.requestTimeoutSeconds}) plus 2 s for the table calls must fit in callbacks.timeoutSeconds (${c.timeoutSeconds}).`,
    );
  }
  if (c.maxConcurrency < 2) {
    problems.push(`callbacks.maxConcurrency is ${c.maxConcurrency}: an SQS event source mapping needs at least 2.`);
  }
  if (c.batchSize < 1 || c.batchSize > 10) {
    problems.push(`callbacks.batchSize is ${c.batchSize}: 1 to 10 (the delivery mapping has no batching window).`);
  }
  if (c.retryBaseDelaySeconds < 1 || c.retryMaxDelaySeconds < c.retryBaseDelaySeconds) {
    problems.push('callbacks.retryBaseDelaySeconds must be at least 1 and at most retryMaxDelaySeconds.');
  }
  if (c.retryMaxDelaySeconds > MAX_VISIBILITY_WAIT_SECONDS) {
    problems.push(
      `callbacks.retryMaxDelaySeconds is ${c.retryMaxDelaySeconds}: a delivery waits on its message's visibility, at most ${MAX_VISIBILITY_WAIT_SECONDS} s (SQS's 12 hours count from the receive).`,
    );
  }
  if (c.deliveryWindowHours <= 0) problems.push('callbacks.deliveryWindowHours must be positive.');
  if (c.retentionDays * 24 <= c.deliveryWindowHours) {
    problems.push(
      `callbacks.retentionDays (${c.retentionDays}) must exceed the delivery window (${c.deliveryWindowHours} h): a message must outlive a delivery function that is down for all of it.`,
    );
  }
  if (c.deadLetterRetentionDays <= c.retentionDays) {
    problems.push(
      'callbacks.deadLetterRetentionDays must exceed retentionDays: a moved message keeps its first enqueue time.',
    );
  }
  const versions = c.signingKeyVersions;
  if (
    versions.length === 0 ||
    versions.some((v) => !Number.isInteger(v) || v < 1) ||
    new Set(versions).size !== versions.length
  ) {
    problems.push('callbacks.signingKeyVersions must list distinct whole numbers from 1, the current first.');
  }
  // A delivery message whose invocations crash reaches the delivery DLQ after maxReceiveCount visibility
  // timeouts; only then may the sweep take its callback for lost.
  const horizon = c.maxReceiveCount * callbackVisibilityTimeoutSeconds(c);
  if (s.recovery.staleAfterSeconds <= horizon) {
    problems.push(
      `recovery.staleAfterSeconds (${s.recovery.staleAfterSeconds}) must exceed callbacks.maxReceiveCount × the delivery queue's visibility timeout (${horizon} s): until then a delivery message may still be on its way to the delivery DLQ.`,
    );
  }
  return problems;
}

/** Scheduler's own limits, and the SQS delay that `runAt` hands over to a schedule beyond. */
function scheduleProblems({ schedules }: Settings): string[] {
  const problems: string[] = [];
  if (schedules.runAtQueueDelayMaxSeconds < 1 || schedules.runAtQueueDelayMaxSeconds > MAX_DELAY_SECONDS) {
    problems.push(
      `schedules.runAtQueueDelayMaxSeconds is ${schedules.runAtQueueDelayMaxSeconds}: SQS delays a message by 1 to ${MAX_DELAY_SECONDS} s.`,
    );
  }
  if (schedules.retryAttempts < 0 || schedules.retryAttempts > 185) {
    problems.push(`schedules.retryAttempts is ${schedules.retryAttempts}: Scheduler retries 0 to 185 times.`);
  }
  if (schedules.maxEventAgeSeconds < 60 || schedules.maxEventAgeSeconds > 86_400) {
    problems.push(
      `schedules.maxEventAgeSeconds is ${schedules.maxEventAgeSeconds}: Scheduler keeps a firing 60 to 86,400 s.`,
    );
  }
  if (schedules.maxPerOwner < 1) problems.push('schedules.maxPerOwner must be at least 1.');
  if (schedules.maxRunAtDays < 1) problems.push('schedules.maxRunAtDays must be at least 1.');
  if (schedules.fire.timeoutSeconds < 1 || schedules.fire.timeoutSeconds > MAX_LAMBDA_TIMEOUT_SECONDS) {
    problems.push(
      `schedules.fire.timeoutSeconds is ${schedules.fire.timeoutSeconds}: Lambda allows 1 to ${MAX_LAMBDA_TIMEOUT_SECONDS}.`,
    );
  }
  return problems;
}

/** S3 refuses a single PUT of more than 5 GiB. */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGNED_SECONDS = 604_800;
/** The API reads an upload whole, as bytes, as a string and as parsed JSON, with room to spare. */
const UPLOAD_MEMORY_FACTOR = 4;

function taskDataProblems({ taskData, api, tasks }: Settings): string[] {
  const problems: string[] = [];
  if (taskData.inlineMaxBytes > api.maxBodyBytes || taskData.inlineMaxBytes > tasks.maxResultBytes) {
    problems.push(
      `taskData.inlineMaxBytes (${taskData.inlineMaxBytes}) must not exceed api.maxBodyBytes (${api.maxBodyBytes}) or tasks.maxResultBytes (${tasks.maxResultBytes}): whatever is not kept inline must fit the bucket's path.`,
    );
  }
  if (taskData.maxObjectBytes < api.maxBodyBytes) {
    problems.push(
      `taskData.maxObjectBytes (${taskData.maxObjectBytes}) is below api.maxBodyBytes (${api.maxBodyBytes}): a payload the API accepts in a body must fit in the bucket.`,
    );
  }
  if (taskData.maxObjectBytes > MAX_SINGLE_PUT_BYTES) {
    problems.push(`taskData.maxObjectBytes is ${taskData.maxObjectBytes}: one S3 PUT takes at most 5 GiB.`);
  }
  if (taskData.maxObjectBytes * UPLOAD_MEMORY_FACTOR > api.memoryMiB * 1024 * 1024) {
    problems.push(
      `taskData.maxObjectBytes (${taskData.maxObjectBytes}) needs about ${UPLOAD_MEMORY_FACTOR} times as much API memory (api.memoryMiB is ${api.memoryMiB}): the API reads and validates an upload whole.`,
    );
  }
  for (const name of ['uploadUrlSeconds', 'downloadUrlSeconds'] as const) {
    if (taskData[name] < 1 || taskData[name] > MAX_PRESIGNED_SECONDS) {
      problems.push(`taskData.${name} is ${taskData[name]}: a presigned URL lives 1 to ${MAX_PRESIGNED_SECONDS} s.`);
    }
  }
  if (taskData.maxArtifacts < 0) problems.push('taskData.maxArtifacts must not be negative.');
  return problems;
}

const isWhole = (n: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(n) && n >= min && n <= max;

/**
 * settings.fairness and the task types' own limits. A limit of 0 or below would hold every task (or refuse
 * every submit) for good: refused whether the limit is on or not, since turning it on later must not break.
 */
function fairnessProblems(s: Settings, registry: TaskRegistry): string[] {
  const problems: string[] = [];
  const { ownerConcurrency, submitRate } = s.fairness;
  if (!isWhole(ownerConcurrency.maxRunning, 1)) {
    problems.push(
      `fairness.ownerConcurrency.maxRunning is ${ownerConcurrency.maxRunning}: a whole number of at least 1.`,
    );
  }
  if (!isWhole(ownerConcurrency.maxWaitSeconds, 1, MAX_DELAY_SECONDS)) {
    problems.push(
      `fairness.ownerConcurrency.maxWaitSeconds is ${ownerConcurrency.maxWaitSeconds}: 1 to ${MAX_DELAY_SECONDS} whole seconds (SQS's longest delay).`,
    );
  }
  if (!isWhole(submitRate.maxTasks, 1)) {
    problems.push(`fairness.submitRate.maxTasks is ${submitRate.maxTasks}: a whole number of at least 1.`);
  }
  if (!isWhole(submitRate.windowSeconds, 1, 86_400)) {
    problems.push(`fairness.submitRate.windowSeconds is ${submitRate.windowSeconds}: 1 to 86,400 whole seconds.`);
  }
  for (const [type, definition] of registry) {
    const limit = definition.maxRunningPerOwner;
    if (limit !== undefined && !isWhole(limit, 1)) {
      problems.push(`Task type "${type}" has maxRunningPerOwner ${limit}: a whole number of at least 1.`);
    }
  }
  return problems;
}

/** Throws one ConfigError listing every problem of {@link settingsProblems}. */
export function assertValidSettings(s: Settings, registry: TaskRegistry, visibility?: number): void {
  const problems = settingsProblems(s, registry, visibility);
  if (problems.length > 0) {
    throw new ConfigError(`Invalid offload settings:\n${problems.map((problem) => `- ${problem}`).join('\n')}`);
  }
}
