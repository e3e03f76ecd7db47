import * as z from '../../shared/zod.js';
import { defineTask } from './define-task.js';

/** Returns its payload unchanged: the smallest task, for smoke tests and measuring overhead. */
export const echoTask = defineTask({
  payload: z.json(),
  run: async (payload) => payload,
});
