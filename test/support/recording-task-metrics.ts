import type { QueueRoute } from '../../shared/lanes.js';
import type { TaskMetricName } from '../../shared/metric-names.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';

export interface RecordedMetric {
  readonly name: TaskMetricName;
  readonly type: string;
  readonly value: number;
}

/** A TaskMetrics that keeps every event for assertions. */
export class RecordingTaskMetrics implements TaskMetrics {
  readonly events: RecordedMetric[] = [];
  /** The same events with the lane and priority they were recorded for (those recorded with one). */
  readonly routed: Array<RecordedMetric & { readonly route: QueueRoute }> = [];

  record(name: TaskMetricName, type: string, value = 1, route?: QueueRoute): void {
    this.events.push({ name, type, value });
    if (route) this.routed.push({ name, type, value, route });
  }

  /** How many times `name` was recorded. */
  count(name: TaskMetricName): number {
    return this.events.filter((event) => event.name === name).length;
  }

  /** The metric names recorded, in order. */
  get names(): TaskMetricName[] {
    return this.events.map((event) => event.name);
  }
}
