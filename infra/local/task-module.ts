import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import type { TaskTypes } from '../../functions/tasks/define-task.js';
import type { Lanes } from '../../shared/lanes.js';
import type { Settings } from '../settings.js';

/** A path or a file URL, as a file URL. */
export const toFileUrl = (pathOrUrl: string): string =>
  pathOrUrl.startsWith('file:') ? pathOrUrl : pathToFileURL(pathOrUrl).href;

export interface TaskModuleCheck {
  /** The settings before the module's lanes: they override the module's lanes field by field. */
  readonly settings: Settings;
  /** The default lane's visibility timeout, in seconds, when it is not the settings'. */
  readonly visibility?: number;
  /** Whether the diagnostic task types are registered too. */
  readonly diagnostic: boolean;
}

/** What {@link inspectTaskModule} found. */
export interface TaskModuleInspection {
  /** The task types' names. */
  readonly names: readonly string[];
  /** The module's `lanes` export, if any. */
  readonly lanes?: Lanes;
}

/**
 * Loads the task module at `url` afresh (in a thread of its own: a changed module is read anew
 * whether it is an ES module or CommonJS) and checks it as the CDK synth does, its own `lanes`
 * included. Resolves with the names of the task types and its lanes; throws, naming the module,
 * when it does not load, exports no `taskTypes`, or has a type the settings cannot run.
 */
export async function inspectTaskModule(url: string, check: TaskModuleCheck): Promise<TaskModuleInspection> {
  type Answer = { names?: string[]; lanes?: Lanes; problems?: string[]; error?: string };
  const answer = await new Promise<Answer>((resolve, reject) => {
    const worker = new Worker(new URL('./task-module-thread.mjs', import.meta.url), {
      workerData: { taskModule: url, ...check },
      stdout: true,
    });
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the loading thread exited with code ${code}`)));
  }).catch((error: Error): Answer => ({ error: error.message }));
  const name = fileURLToPath(url);
  if (answer.error !== undefined) throw new Error(`The task module ${name} does not load: ${answer.error}`);
  if (answer.problems && answer.problems.length > 0) {
    throw new Error(`The task module ${name} does not fit the settings:\n- ${answer.problems.join('\n- ')}`);
  }
  return { names: answer.names ?? [], ...(answer.lanes && { lanes: answer.lanes }) };
}

/** The task module's `taskTypes`, loaded into this process (ES module or CommonJS, TypeScript or not). */
export async function importTaskTypes(url: string): Promise<TaskTypes> {
  const { taskTypes } = (await tsImport(url, import.meta.url)) as { taskTypes?: TaskTypes };
  if (typeof taskTypes !== 'object' || taskTypes === null) {
    throw new Error(`The task module ${fileURLToPath(url)} has no export taskTypes.`);
  }
  return taskTypes;
}

/**
 * The files of the task module's project it imports, itself included, node_modules excluded: what
 * `offload dev` watches. esbuild follows the imports as the bundler of the deployed functions does,
 * for any module format. A module that does not build yields just itself.
 */
export function taskModuleFiles(path: string): readonly string[] {
  try {
    const { metafile } = buildSync({
      entryPoints: [path],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
      absWorkingDir: process.cwd(),
    });
    return Object.keys(metafile.inputs)
      .filter((input) => !input.split(/[\\/]/).includes('node_modules'))
      .map((input) => resolve(process.cwd(), input));
  } catch {
    return [path];
  }
}
