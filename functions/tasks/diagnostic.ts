import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BroadcastChannel as NodeBroadcastChannel } from 'node:worker_threads';
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

/** Name of the BroadcastChannel `ledger` executions are announced on. */
export const LEDGER_CHANNEL = 'offload-ledger';

/**
 * One event of a `ledger` execution, as the chaos run checks them: `start`, then `end` with how it
 * ended. An execution whose environment was ended (timeout, crash) announces no end.
 */
export type LedgerEvent =
  | { readonly event: 'start'; readonly taskId: string; readonly attempt: number; readonly at: number }
  | {
      readonly event: 'end';
      readonly taskId: string;
      readonly attempt: number;
      readonly at: number;
      readonly outcome: 'ok' | 'aborted' | 'retryable' | 'permanent';
    };

/**
 * The chaos run executes worker invocations in threads of its own process: a BroadcastChannel
 * reaches it from any of them (and nobody, harmlessly, in Lambda).
 */
let ledger: NodeBroadcastChannel | undefined;
const announce = (event: LedgerEvent) => {
  if (!ledger) {
    ledger = new NodeBroadcastChannel(LEDGER_CHANNEL);
    // Announcing must not keep a thread or process alive.
    ledger.unref();
  }
  ledger.postMessage(event);
};

/**
 * Works for `ms` milliseconds (honouring its signal) and announces the execution on the ledger;
 * fails retryably on its first `failures` attempts, or permanently when `permanent`.
 */
export const ledgerTask = defineTask({
  payload: z.strictObject({
    ms: z.int().check(z.minimum(0), z.maximum(10_000)),
    failures: z._default(z.int().check(z.minimum(0), z.maximum(100)), 0),
    permanent: z._default(z.boolean(), false),
    /** A free label, so a test can tell its tasks apart in the table. */
    label: z.optional(z.string().check(z.maxLength(64))),
    /** Filler that makes the payload large enough for the task data bucket (over 1 KB by default). */
    padding: z.optional(z.string().check(z.maxLength(20_000))),
    /** Characters of filler in the result, which then goes to the task data bucket too. */
    resultPadding: z._default(z.int().check(z.minimum(0), z.maximum(20_000)), 0),
  }),
  run: async ({ ms, failures, permanent, resultPadding }, { taskId, attempt, signal }) => {
    announce({ event: 'start', taskId, attempt, at: Date.now() });
    const end = (outcome: 'ok' | 'aborted' | 'retryable' | 'permanent') =>
      announce({ event: 'end', taskId, attempt, at: Date.now(), outcome });
    try {
      await sleep(ms, undefined, { signal });
    } catch (error) {
      end('aborted');
      throw error;
    }
    if (permanent) {
      end('permanent');
      throw new PermanentError('LedgerPermanent', 'Failed permanently on purpose.');
    }
    if (attempt <= failures) {
      end('retryable');
      throw new Error(`Ledger failure on attempt ${attempt}.`);
    }
    end('ok');
    return { taskId, attempt, ...(resultPadding > 0 && { padding: 'r'.repeat(resultPadding) }) };
  },
});

/**
 * Never settles and ignores the deadline signal, like a handler stuck in a tight loop: the
 * invocation times out and its environment is ended, no outcome is written, the next delivery takes
 * the task over after the lease, and once its attempts are spent the task ends FAILED AttemptsExhausted.
 */
export const crashTask = defineTask({
  payload: z.strictObject({}),
  run: () => new Promise<never>(() => {}),
});

/**
 * Large inputs and outputs, for the task data tests: reports the size and SHA-256 of `text`, answers a
 * result padded with `resultBytes` characters and writes each of `files` as an artifact.
 */
export const bulkTask = defineTask({
  payload: z.strictObject({
    text: z._default(z.string(), ''),
    resultBytes: z._default(z.int().check(z.minimum(0), z.maximum(100 * 1024 * 1024)), 0),
    files: z._default(
      z
        .array(z.strictObject({ name: z.string(), text: z.string(), contentType: z.optional(z.string()) }))
        .check(z.maxLength(20)),
      [],
    ),
  }),
  run: async ({ text, resultBytes, files }, { artifacts }) => {
    for (const file of files) await artifacts.put(file.name, file.text, file.contentType);
    return {
      textBytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      padding: 'x'.repeat(resultBytes),
    };
  },
});
