// Loads a task module in a thread of its own, with a module cache of its own, and checks it as the
// CDK synth does: task type names, its lanes, and each type against the settings. Used at every start
// and reload of the local stack, so a changed module is always read afresh, whatever its format.
import { parentPort, workerData } from 'node:worker_threads';
import { register, tsImport } from 'tsx/esm/api';

register();

const { taskModule, settings, visibility, diagnostic } = workerData;
try {
  const { taskTypes, lanes } = await tsImport(taskModule, import.meta.url);
  if (typeof taskTypes !== 'object' || taskTypes === null) {
    throw new Error('it has no export taskTypes: export const taskTypes = { name: defineTask({ payload, run }) }.');
  }
  const { createTaskRegistry } = await import('../../functions/tasks/registry.js');
  const { settingsProblems } = await import('../validate-settings.js');
  const { withModuleLanes } = await import('../settings.js');
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic });
  const merged = withModuleLanes(settings, lanes);
  parentPort.postMessage({
    names: [...registry.keys()],
    ...(lanes && { lanes: JSON.parse(JSON.stringify(lanes)) }),
    problems: settingsProblems(merged, registry, visibility),
  });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
