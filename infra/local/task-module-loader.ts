import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import type { TaskTypes } from '../../functions/tasks/define-task.js';

/** A task module as the local stack loaded it. */
export interface LoadedTaskModule {
  readonly taskTypes: TaskTypes;
  /** Its files and those it imports, outside node_modules: what `offload dev` watches. Empty unless loaded fresh. */
  readonly files: readonly string[];
}

/** A path or a file URL, as a file URL. */
export const toFileUrl = (pathOrUrl: string): string =>
  pathOrUrl.startsWith('file:') ? pathOrUrl : pathToFileURL(pathOrUrl).href;

let generation = 0;
const namespaces: { unregister(): Promise<void> }[] = [];

/**
 * Imports the task module at `url` and returns its `taskTypes`. `fresh`: through a tsx namespace of
 * its own, so the module and everything it imports are evaluated anew (the module cache would
 * otherwise keep the first version), and its files are listed for watching. Throws, naming the
 * module, when it fails to load or exports no `taskTypes` object.
 */
export async function importTaskModule(url: string, options: { fresh?: boolean } = {}): Promise<LoadedTaskModule> {
  const files = new Set<string>();
  let module: { taskTypes?: unknown };
  try {
    if (options.fresh) {
      const namespace = register({
        namespace: `offload-tasks-${++generation}`,
        onImport: (imported) => {
          if (imported.startsWith('file:') && !imported.includes('/node_modules/')) {
            files.add(fileURLToPath(imported.split('?')[0] ?? imported));
          }
        },
      });
      module = (await namespace.import(url, import.meta.url)) as { taskTypes?: unknown };
      namespaces.push(namespace);
      // The previous generation may still be finishing a request; the one before it is done with.
      if (namespaces.length > 2) await namespaces.shift()?.unregister();
    } else {
      module = (await import(url)) as { taskTypes?: unknown };
    }
  } catch (error) {
    throw new Error(`Could not load the task module ${fileURLToPath(url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof module.taskTypes !== 'object' || module.taskTypes === null) {
    throw new Error(
      `The task module ${fileURLToPath(url)} has no export taskTypes: export const taskTypes = { name: defineTask({ payload, run }) }.`,
    );
  }
  return { taskTypes: module.taskTypes as TaskTypes, files: [...files] };
}
