import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The offload functions; each is built from a handler factory and, for most, the deployment's task module. */
export type FunctionKind = 'api' | 'worker' | 'dead-letter' | 'recovery' | 'callbacks' | 'schedule-fire';

/** What a function runs: its kind and the task module whose `taskTypes` it serves. */
export interface LambdaEntry {
  readonly kind: FunctionKind;
  /** Absolute path of the task module (TypeScript or JavaScript) exporting `taskTypes`. */
  readonly taskModule?: string;
}

/** The handler factory of each function: its module (without extension, from the package root) and export. */
export const HANDLER_FACTORIES = {
  api: { module: 'functions/api/handler', factory: 'createApiHandler', takesTasks: true },
  worker: { module: 'functions/worker/handler', factory: 'createWorkerHandler', takesTasks: true },
  // Task types only name its metric dimensions.
  'dead-letter': { module: 'functions/dead-letter/handler', factory: 'createDeadLetterHandler', takesTasks: true },
  recovery: { module: 'functions/recovery/handler', factory: 'createRecoveryHandler', takesTasks: false },
  // Task types only name its metric dimensions.
  callbacks: { module: 'functions/callbacks/handler', factory: 'createCallbackHandler', takesTasks: true },
  // Each firing submits a task: its payload is checked against the task types, as POST /tasks checks it.
  'schedule-fire': {
    module: 'functions/schedule-fire/handler',
    factory: 'createScheduleFireHandler',
    takesTasks: true,
  },
} as const satisfies Record<FunctionKind, { module: string; factory: string; takesTasks: boolean }>;

const PACKAGE_ROOT = new URL('..', import.meta.url);

/**
 * Absolute path of one of offload's own modules, given without extension: the TypeScript source in
 * this repository, the compiled JavaScript in the installed package.
 */
export function ownModulePath(module: string): string {
  for (const extension of ['.ts', '.js']) {
    const path = fileURLToPath(new URL(`${module}${extension}`, PACKAGE_ROOT));
    if (existsSync(path)) return path;
  }
  throw new Error(`offload is missing its own module ${module} (.ts or .js): reinstall the package.`);
}

/** This repository's task module (the demonstration types echo and sleep), as source or compiled. */
export const demoTaskModule = (): string => ownModulePath('functions/tasks/demo');

/**
 * The source of a function's entry module: it builds the handler at module scope (Lambda's init
 * phase) from the factory and the task module, and exports it as `handler`.
 */
export function entrySource(entry: LambdaEntry): string {
  const { module, factory, takesTasks } = HANDLER_FACTORIES[entry.kind];
  const lines = [`import { ${factory} } from ${JSON.stringify(ownModulePath(module))};`];
  if (takesTasks && entry.taskModule !== undefined) {
    lines.push(`import { taskTypes } from ${JSON.stringify(entry.taskModule)};`);
    lines.push(`export const handler = ${factory}(taskTypes);`);
  } else {
    lines.push(`export const handler = ${factory}();`);
  }
  return `${lines.join('\n')}\n`;
}
