/**
 * `offload/tasks`: what a task module needs. A task module exports `taskTypes`, names mapped to
 * `defineTask(...)` results:
 *
 * ```ts
 * import { defineTask, PermanentError, z } from 'offload/tasks';
 *
 * export const taskTypes = {
 *   report: defineTask({
 *     payload: z.object({ month: z.string() }),
 *     run: async ({ month }, { progress, signal }) => buildReport(month, { progress, signal }),
 *   }),
 * };
 * ```
 *
 * `z` is the `zod/mini` API offload validates with (any zod 4 schema works; `zod/mini` keeps the
 * functions' cold start short).
 *
 * A task module may also export `lanes` (`satisfies Lanes`): queues and workers of their own for the
 * types that name one with `defineTask({ lane })`, e.g. `{ long: { timeoutSeconds: 900, memoryMiB: 4096 } }`.
 */

export { PermanentError } from '../../shared/errors.js';
export type { LaneSettings, Lanes, TaskPriority } from '../../shared/lanes.js';
export * as z from '../../shared/zod.js';
export { defineTask, type TaskContext, type TaskDefinition, type TaskTypes } from './define-task.js';
