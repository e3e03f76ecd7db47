import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { require as tsxRequire } from 'tsx/cjs/api';
import type { TaskTypes } from '../functions/tasks/define-task.js';
import type { Lanes } from '../shared/lanes.js';

/**
 * The absolute path of a task module, relative paths taken from the working directory (where
 * `cdk synth` runs). Throws when there is no such file.
 */
export function resolveTaskModule(path: string): string {
  const absolute = isAbsolute(path) ? path : resolve(path);
  if (!existsSync(absolute)) {
    throw new Error(`The task module ${absolute} does not exist: pass the path of a file that exports taskTypes.`);
  }
  return absolute;
}

/**
 * A task module's `taskTypes`, loaded synchronously (a construct's constructor cannot await), the
 * module compiled by tsx if it is TypeScript. Synth loads it to check each task type against the
 * settings; the functions bundle it. Throws, naming the module, when it fails to load or has no
 * `taskTypes` object.
 */
export function loadTaskTypesSync(path: string): TaskTypes {
  let module: { taskTypes?: unknown };
  try {
    module = tsxRequire(path, import.meta.url) as { taskTypes?: unknown };
  } catch (error) {
    throw new Error(
      `offload could not load the task module ${path} to check its task types: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const { taskTypes } = module;
  if (typeof taskTypes !== 'object' || taskTypes === null) {
    throw new Error(
      `The task module ${path} has no export taskTypes: export const taskTypes = { name: defineTask({ payload, run }) }.`,
    );
  }
  return taskTypes as TaskTypes;
}

/**
 * A task module's `lanes` export, if it has one: the lanes its task types run in, with their numbers.
 * Loaded like `taskTypes` (the module is cached, so this costs nothing more); checked when merged into
 * the settings.
 */
export function loadTaskLanesSync(path: string): Lanes | undefined {
  const { lanes } = tsxRequire(path, import.meta.url) as { lanes?: unknown };
  if (lanes === undefined) return undefined;
  if (typeof lanes !== 'object' || lanes === null || Array.isArray(lanes)) {
    throw new Error(`The task module ${path} exports lanes that are not an object of lanes by name.`);
  }
  return lanes as Lanes;
}
