import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError } from '../../shared/errors.js';
import * as z from '../../shared/zod.js';
import { defineTask } from './define-task.js';

/**
 * Task types that misbehave on purpose, so the e2e suite can prove failure handling against a
 * local or deployed stack. Registered only when OFFLOAD_DIAGNOSTIC_TASKS=true.
 */

/** Fails permanently with the given code: the task ends FAILED on its first attempt. */
export const failTask = defineTask({
  payload: z.strictObject({
    code: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/)),
    message: z._default(z.string().check(z.maxLength(1000)), 'Failed on purpose.'),
  }),
  run: async ({ code, message }) => {
    throw new PermanentError(code, message);
  },
});

/** Throws a retryable error on its first `failures` attempts, then succeeds. */
export const flakyTask = defineTask({
  payload: z.strictObject({ failures: z.int().check(z.minimum(0), z.maximum(100)) }),
  run: async ({ failures }, { attempt }) => {
    if (attempt <= failures) throw new Error(`Flaky failure on attempt ${attempt}.`);
    return { attempt };
  },
});

/** One execution of a `ledger` task, as the chaos run checks them. */
export interface ExecutionRecord {
  readonly taskId: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: 'ok' | 'aborted';
}

const LEDGER_LIMIT = 100_000;

/** In-process record of every `ledger` execution, read by the chaos run (which runs the stack in-process). */
export const executionLedger: ExecutionRecord[] = [];

/** Works for `ms` milliseconds (honouring its signal) and appends the execution to the ledger. */
export const ledgerTask = defineTask({
  payload: z.strictObject({ ms: z.int().check(z.minimum(0), z.maximum(10_000)) }),
  run: async ({ ms }, { taskId, attempt, signal }) => {
    const startedAt = Date.now();
    let outcome: ExecutionRecord['outcome'] = 'ok';
    try {
      await sleep(ms, undefined, { signal });
    } catch (error) {
      outcome = 'aborted';
      throw error;
    } finally {
      if (executionLedger.length < LEDGER_LIMIT) {
        executionLedger.push({ taskId, attempt, startedAt, endedAt: Date.now(), outcome });
      }
    }
    return { taskId, attempt };
  },
});

/**
 * Never settles and ignores the deadline signal, like a handler stuck in a tight loop: the
 * invocation times out, no outcome is written, SQS redelivers, and after maxReceiveCount the
 * message reaches the dead-letter queue.
 */
export const crashTask = defineTask({
  payload: z.strictObject({}),
  run: () => new Promise<never>(() => {}),
});
