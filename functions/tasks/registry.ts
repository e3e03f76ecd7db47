import type { TaskDefinition, TaskRegistry } from './define-task.js';
import { bulkTask, crashTask, failTask, flakyTask, ledgerTask } from './diagnostic.js';
import { echoTask } from './echo.js';
import { sleepTask } from './sleep.js';

/**
 * The built-in task types: demonstrations (echo, sleep), registered where asked for (the local
 * stack, or `-c demoTasks=true` at deploy), so a production deployment accepts no work it was not
 * built for. Adding a type: one file in this folder and one line here.
 */
export const taskTypes = {
  echo: echoTask,
  sleep: sleepTask,
} satisfies Record<string, TaskDefinition>;

export const diagnosticTaskTypes = {
  fail: failTask,
  flaky: flakyTask,
  crash: crashTask,
  ledger: ledgerTask,
  bulk: bulkTask,
} satisfies Record<string, TaskDefinition>;

/** The task types of one deployment: the demonstration types and the diagnostic ones, each when asked for. */
export function createTaskRegistry(options: { readonly demo: boolean; readonly diagnostic: boolean }): TaskRegistry {
  return new Map<string, TaskDefinition>(
    Object.entries({ ...(options.demo && taskTypes), ...(options.diagnostic && diagnosticTaskTypes) }),
  );
}
