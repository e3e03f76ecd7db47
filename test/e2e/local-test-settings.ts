import { type Settings, settings } from '../../infra/settings.js';

/** How long the local e2e stack's presigned URLs live. */
export const E2E_URL_SECONDS = 3;
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
  // A receiver that fails twice gets its third attempt within seconds.
  callbacks: { ...settings.callbacks, retryBaseDelaySeconds: 1, retryMaxDelaySeconds: 2 },
  // A rate(1 minute) schedule fires every second, and a runAt beyond 2 s takes the one-time schedule path.
  schedules: { ...settings.schedules, runAtQueueDelayMaxSeconds: 2 },
  local: { ...settings.local, scheduleRateMinuteMs: 1_000 },
  // Presigned URLs that expire within a test's patience (test/e2e/task-data.test.ts).
  taskData: { ...settings.taskData, uploadUrlSeconds: E2E_URL_SECONDS, downloadUrlSeconds: E2E_URL_SECONDS },
};

/** Longer than the worker timeout plus the lease grace, so a redelivery finds the crashed attempt's lease expired. */
export const e2eVisibilityTimeoutSeconds = 4;
