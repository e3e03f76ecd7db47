import { LANE_NAME } from '../../shared/lanes.js';
import type { TaskDefinition, TaskRegistry, TaskTypes } from './define-task.js';
import { bulkTask, crashTask, failTask, flakyTask, ledgerTask } from './diagnostic.js';

/** Task types that misbehave on purpose, for the e2e and chaos suites; registered only when asked for. */
export const diagnosticTaskTypes = {
  fail: failTask,
  flaky: flakyTask,
  crash: crashTask,
  ledger: ledgerTask,
  bulk: bulkTask,
} satisfies Record<string, TaskDefinition>;

/** A name a task type may have: what the API accepts in `type` and a metric dimension can carry. */
export const TASK_TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export interface TaskRegistryOptions {
  /** The task types of the deployment: the `taskTypes` export of its task module. */
  readonly tasks?: TaskTypes;
  /** Adds {@link diagnosticTaskTypes}. */
  readonly diagnostic?: boolean;
}

/**
 * The task types of one deployment: its task module's, plus the diagnostic ones when asked for.
 * Throws when a name is not one the API accepts, when a diagnostic name is taken, or when an entry
 * is not a task definition (a module that exports something else under `taskTypes`).
 */
export function createTaskRegistry(options: TaskRegistryOptions = {}): TaskRegistry {
  const registry = new Map<string, TaskDefinition>();
  for (const [name, definition] of Object.entries(options.tasks ?? {})) {
    if (!TASK_TYPE_NAME.test(name)) {
      throw new TypeError(
        `Task type name "${name}" is not allowed: a letter, then up to 63 letters, digits, "_", "." or "-".`,
      );
    }
    if (!isTaskDefinition(definition)) {
      throw new TypeError(`taskTypes.${name} is not a task definition: write it with defineTask({ payload, run }).`);
    }
    if (definition.lane !== undefined && (typeof definition.lane !== 'string' || !LANE_NAME.test(definition.lane))) {
      throw new TypeError(
        `Task type "${name}" names lane ${JSON.stringify(definition.lane)}: a lane is a lower-case letter, then up to 31 lower-case letters, digits or "-".`,
      );
    }
    registry.set(name, definition);
  }
  if (options.diagnostic) {
    for (const [name, definition] of Object.entries(diagnosticTaskTypes)) {
      if (registry.has(name)) {
        throw new TypeError(`Task type "${name}" is also a diagnostic task type: rename it, or leave diagnostics off.`);
      }
      registry.set(name, definition);
    }
  }
  return registry;
}

function isTaskDefinition(value: unknown): value is TaskDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TaskDefinition).run === 'function' &&
    typeof (value as TaskDefinition).payload === 'object' &&
    (value as TaskDefinition).payload !== null
  );
}
