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

  record(name: TaskMetricName, type: string, value = 1): void {
    this.events.push({ name, type, value });
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
