import type { Lanes } from '../../shared/lanes.js';
import type { TaskDefinition } from './define-task.js';
import { echoTask } from './echo.js';
import { longSleepTask, sleepTask } from './sleep.js';

/**
 * The demonstration task types, written as any user's task module is: an export `taskTypes` that maps
 * names to `defineTask(...)` results. `npm start` runs them; `cdk deploy` registers them only with
 * `-c demoTasks=true`, so a production deployment accepts no work it was not built for.
 */
export const taskTypes = {
  echo: echoTask,
  sleep: sleepTask,
  longSleep: longSleepTask,
} satisfies Record<string, TaskDefinition>;

/**
 * The lanes besides the default one that these types run in: `long`, a queue and worker of its own with
 * Lambda's longest timeout, 4 GB, one task per invocation and at most 5 at once (plus 2 reserved for
 * high-priority tasks). `npm start` and this repository's `cdk deploy` both build it from here.
 */
export const lanes = {
  long: { timeoutSeconds: 900, memoryMiB: 4096, batchSize: 1, maxConcurrency: 5 },
} satisfies Lanes;
