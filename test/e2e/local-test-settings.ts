import { type Settings, settings } from '../../infra/settings.js';

/**
 * Settings for the e2e run of the local stack: the same shape as production, with times shrunk so
 * a crash is detected and dead-lettered in seconds instead of minutes.
 */
export const e2eSettings: Settings = {
  ...settings,
  worker: { ...settings.worker, timeoutSeconds: 2 },
  queue: { ...settings.queue, maxReceiveCount: 2 },
  tasks: { ...settings.tasks, retryBaseDelaySeconds: 1, cancelCheckSeconds: 1 },
};

/** Longer than the worker timeout, so a redelivery finds the crashed attempt's lease expired. */
export const e2eVisibilityTimeoutSeconds = 3;
