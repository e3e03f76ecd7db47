import type { QueueRoute } from './lanes.js';
import type { TaskMetricName } from './metric-names.js';

/**
 * Where the cores report task events. The AWS adapter turns them into CloudWatch EMF lines
 * (shared/aws/powertools-observability.ts); tests collect them in memory.
 */
export interface TaskMetrics {
  /**
   * Records `value` (1 for counts, milliseconds for timings) for a task of `type`, and of the lane and
   * priority of `route` when given.
   */
  record(name: TaskMetricName, type: string, value?: number, route?: QueueRoute): void;
}
