import { z } from 'zod';
import { PermanentError } from '../../shared/errors.js';
import { defineTask } from './define-task.js';

/**
 * Task types that misbehave on purpose, so the e2e suite can prove failure handling against a
 * local or deployed stack. Registered only when OFFLOAD_DIAGNOSTIC_TASKS=true.
 */

/** Fails permanently with the given code: the task ends FAILED on its first attempt. */
export const failTask = defineTask({
  payload: z.strictObject({
    code: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/),
    message: z.string().max(1000).default('Failed on purpose.'),
  }),
  run: async ({ code, message }) => {
    throw new PermanentError(code, message);
  },
});

/** Throws a retryable error on its first `failures` attempts, then succeeds. */
export const flakyTask = defineTask({
  payload: z.strictObject({ failures: z.int().min(0).max(100) }),
  run: async ({ failures }, { attempt }) => {
    if (attempt <= failures) throw new Error(`Flaky failure on attempt ${attempt}.`);
    return { attempt };
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
