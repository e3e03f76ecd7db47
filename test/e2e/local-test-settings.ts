import { type Settings, settings } from '../../infra/settings.js';

/** The long lane's timeout in the e2e run: longer than the default lane's 2 s, so a task can outlast that. */
export const E2E_LONG_LANE_TIMEOUT_SECONDS = 6;

/**
 * Settings for the e2e run of the local stack: the same shape as production, with times shrunk so
 * a crashed attempt is taken over in seconds instead of minutes. maxReceiveCount stays above the
 * attempts, as settings validation demands. The demonstration module's `long` lane is shrunk too.
 */
export const e2eSettings: Settings = {
  ...settings,
  worker: { ...settings.worker, timeoutSeconds: 2 },
  lanes: { ...settings.lanes, long: { timeoutSeconds: E2E_LONG_LANE_TIMEOUT_SECONDS } },
  queue: { ...settings.queue, maxReceiveCount: 4 },
  tasks: { ...settings.tasks, retryBaseDelaySeconds: 1, cancelCheckSeconds: 1, leaseGraceSeconds: 1 },
};

/** Longer than the worker timeout plus the lease grace, so a redelivery finds the crashed attempt's lease expired. */
export const e2eVisibilityTimeoutSeconds = 4;
