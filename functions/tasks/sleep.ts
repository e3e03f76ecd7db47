import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask } from './define-task.js';

/** Waits `ms` milliseconds, giving up when the worker's deadline signal fires: a stand-in for slow work. */
export const sleepTask = defineTask({
  payload: z.strictObject({
    ms: z
      .int()
      .min(0)
      .max(15 * 60 * 1000),
  }),
  run: async ({ ms }, { signal }) => {
    await sleep(ms, undefined, { signal });
    return { sleptMs: ms };
  },
});
