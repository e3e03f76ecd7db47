import type { TaskDefinition } from './define-task.js';
import { echoTask } from './echo.js';
import { sleepTask } from './sleep.js';

/**
 * The demonstration task types, written as any user's task module is: an export `taskTypes` that maps
 * names to `defineTask(...)` results. `npm start` runs them; `cdk deploy` registers them only with
 * `-c demoTasks=true`, so a production deployment accepts no work it was not built for.
 */
export const taskTypes = {
  echo: echoTask,
  sleep: sleepTask,
} satisfies Record<string, TaskDefinition>;
