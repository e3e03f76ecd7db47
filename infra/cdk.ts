/**
 * `offload/cdk`: the construct that deploys offload with a project's own task module.
 *
 * ```ts
 * import { Offload } from 'offload/cdk';
 *
 * const offload = new Offload(this, 'Offload', { tasks: 'src/tasks.ts', worker: { timeoutSeconds: 120 } });
 * new CfnOutput(this, 'ApiUrl', { value: offload.apiUrl });
 * ```
 */

export type { LaneSettings, Lanes } from '../shared/lanes.js';
export type { ApiAuthMode } from './constructs/api-auth.js';
export { Offload, type OffloadProps } from './constructs/offload.js';
export type { LaneResources } from './constructs/task-lane.js';
export type { Lane } from './lanes.js';
export { type Settings, type SettingsOverrides, settings as defaultSettings } from './settings.js';
