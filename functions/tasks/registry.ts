import type { TaskDefinition, TaskRegistry } from './define-task.js';
import { crashTask, failTask, flakyTask, ledgerTask } from './diagnostic.js';
import { echoTask } from './echo.js';
import { sleepTask } from './sleep.js';

/** The task types callers can submit. Adding a type: one file in this folder and one line here. */
export const taskTypes = {
  echo: echoTask,
  sleep: sleepTask,
} satisfies Record<string, TaskDefinition>;

export const diagnosticTaskTypes = {
  fail: failTask,
  flaky: flakyTask,
  crash: crashTask,
  ledger: ledgerTask,
} satisfies Record<string, TaskDefinition>;

export function createTaskRegistry(options: { readonly diagnostic: boolean }): TaskRegistry {
  return new Map<string, TaskDefinition>(
    Object.entries(options.diagnostic ? { ...taskTypes, ...diagnosticTaskTypes } : taskTypes),
  );
}
