import { setTimeout as sleep } from 'node:timers/promises';
import * as z from '../../shared/zod.js';
import { defineTask } from './define-task.js';

const STEPS = 10;

/**
 * The longest sleep accepted: it must end well inside one attempt (the default worker timeout is
 * 60 s, less the 3 s the worker keeps to record the outcome), or every attempt would time out.
 */
export const SLEEP_MAX_MS = 45_000;

/**
 * Waits `ms` milliseconds in ten steps, reporting progress after each, and gives up when its signal
 * fires (deadline or cancel): a stand-in for slow work.
 */
export const sleepTask = defineTask({
  payload: z.strictObject({ ms: z.int().check(z.minimum(0), z.maximum(SLEEP_MAX_MS)) }),
  run: async ({ ms }, { signal, progress }) => {
    for (let step = 1; step <= STEPS; step++) {
      await sleep(ms / STEPS, undefined, { signal });
      progress((step / STEPS) * 100, `slept ${Math.round((ms * step) / STEPS)} of ${ms} ms`);
    }
    return { sleptMs: ms };
  },
});
