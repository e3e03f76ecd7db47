import { setTimeout as sleep } from 'node:timers/promises';
import * as z from '../../shared/zod.js';
import { defineTask, type TaskContext } from './define-task.js';

const STEPS = 10;

/**
 * The longest sleep accepted: it must end well inside one attempt (the default worker timeout is
 * 60 s, less the 3 s the worker keeps to record the outcome), or every attempt would time out.
 */
export const SLEEP_MAX_MS = 45_000;

/**
 * The longest `longSleep`: 14 minutes, inside one attempt of the 15-minute `long` lane (900 s, less the
 * worker's margin), and far past the default lane's 60 s.
 */
export const LONG_SLEEP_MAX_MS = 840_000;

/** Waits `ms` in ten steps, reporting progress after each; gives up when the signal fires (deadline or cancel). */
async function sleepInSteps(ms: number, { signal, progress }: TaskContext): Promise<{ sleptMs: number }> {
  for (let step = 1; step <= STEPS; step++) {
    await sleep(ms / STEPS, undefined, { signal });
    progress((step / STEPS) * 100, `slept ${Math.round((ms * step) / STEPS)} of ${ms} ms`);
  }
  return { sleptMs: ms };
}

/**
 * Waits `ms` milliseconds in ten steps, reporting progress after each, and gives up when its signal
 * fires (deadline or cancel): a stand-in for slow work.
 */
export const sleepTask = defineTask({
  payload: z.strictObject({ ms: z.int().check(z.minimum(0), z.maximum(SLEEP_MAX_MS)) }),
  run: async ({ ms }, ctx) => sleepInSteps(ms, ctx),
});

/**
 * `sleep` for up to 14 minutes, in the `long` lane (its own queue and worker, 15-minute timeout): a
 * stand-in for work too long for the default lane, such as a video transcode or a large export.
 */
export const longSleepTask = defineTask({
  payload: z.strictObject({ ms: z.int().check(z.minimum(0), z.maximum(LONG_SLEEP_MAX_MS)) }),
  lane: 'long',
  run: async ({ ms }, ctx) => sleepInSteps(ms, ctx),
});
