import {
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  TASK_COUNTS,
  TASK_TIMINGS,
  type TaskCountMetric,
  type TaskTimingMetric,
} from '../../shared/metric-names.js';
import type { EmfEvent } from './emf-capture.js';

export interface QueueDepth {
  /** Messages waiting to be received (ApproximateNumberOfMessages). */
  readonly visible: number;
  /** Received, not yet deleted (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight: number;
  /** Delayed by delaySeconds or a retry backoff (ApproximateNumberOfMessagesDelayed). */
  readonly delayed: number;
  /** Messages on the dead-letter queue. */
  readonly deadLetter: number;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface MetricsSnapshot {
  readonly bucketSeconds: number;
  /** Count of each task metric since the stack started. */
  readonly totals: Readonly<Record<TaskCountMetric, number>>;
  /** The same per task type (registered types only, like the TaskType dimension). */
  readonly byType: Readonly<Record<string, Partial<Record<TaskCountMetric, number>>>>;
  /** Over the chart window. */
  readonly timings: Readonly<Record<TaskTimingMetric, Percentiles>>;
  readonly queue: QueueDepth | null;
  /** Columns for the charts: `time` in epoch seconds, one value per bucket in every other column. */
  readonly series: {
    readonly time: readonly number[];
    readonly counts: Readonly<Record<TaskCountMetric, readonly number[]>>;
    readonly queue: Readonly<Record<keyof QueueDepth, ReadonlyArray<number | null>>>;
  };
}

interface Bucket {
  readonly start: number;
  readonly counts: Partial<Record<TaskCountMetric, number>>;
  readonly timings: Partial<Record<TaskTimingMetric, number[]>>;
  queue?: QueueDepth;
}

const COUNT_NAMES = Object.values(TASK_COUNTS);
const TIMING_NAMES = Object.values(TASK_TIMINGS);
const QUEUE_KEYS = ['visible', 'inFlight', 'delayed', 'deadLetter'] as const;

/**
 * The local console's view of the task metrics: folds the EMF events the functions print into totals
 * and time buckets, as CloudWatch aggregates them for the dashboard. Queue depth samples land in the
 * same buckets so both charts share a time axis.
 */
export class ConsoleMetrics {
  readonly #buckets: Bucket[] = [];
  readonly #totals = Object.fromEntries(COUNT_NAMES.map((name) => [name, 0])) as Record<TaskCountMetric, number>;
  readonly #byType = new Map<string, Partial<Record<TaskCountMetric, number>>>();
  #queue: QueueDepth | null = null;

  /** Charts start here rather than at an empty past. */
  readonly #since: number;

  constructor(
    private readonly options: {
      readonly bucketSeconds: number;
      readonly windowSeconds: number;
      /** @default now */
      readonly since?: number;
    } = { bucketSeconds: 5, windowSeconds: 600 },
  ) {
    this.#since = options.since ?? Date.now();
  }

  add(events: readonly EmfEvent[]): void {
    for (const event of events) {
      if (event.namespace !== METRICS_NAMESPACE) continue;
      const bucket = this.#bucketAt(event.timestamp);
      const type = event.dimensions[METRIC_DIMENSIONS.taskType];
      for (const { name, values } of event.metrics) {
        if (isCount(name)) {
          const sum = values.reduce((a, b) => a + b, 0);
          bucket.counts[name] = (bucket.counts[name] ?? 0) + sum;
          this.#totals[name] += sum;
          if (type !== undefined) {
            const forType = this.#byType.get(type) ?? {};
            forType[name] = (forType[name] ?? 0) + sum;
            this.#byType.set(type, forType);
          }
        } else if (isTiming(name)) {
          bucket.timings[name] = [...(bucket.timings[name] ?? []), ...values];
        }
      }
    }
  }

  addQueueSample(depth: QueueDepth, at = Date.now()): void {
    this.#queue = depth;
    this.#bucketAt(at).queue = depth;
  }

  snapshot(now = Date.now()): MetricsSnapshot {
    const size = this.options.bucketSeconds * 1000;
    const last = Math.floor(now / size) * size;
    const windowBuckets = Math.ceil(this.options.windowSeconds / this.options.bucketSeconds);
    const sinceBuckets = Math.floor((last - Math.floor(this.#since / size) * size) / size) + 1;
    const length = Math.max(1, Math.min(windowBuckets, sinceBuckets));
    const starts = Array.from({ length }, (_, i) => last - (length - 1 - i) * size);
    const byStart = new Map(this.#buckets.map((bucket) => [bucket.start, bucket]));
    const window = starts.map((start) => byStart.get(start));
    return {
      bucketSeconds: this.options.bucketSeconds,
      totals: { ...this.#totals },
      byType: Object.fromEntries(this.#byType),
      timings: Object.fromEntries(
        TIMING_NAMES.map((name) => [name, percentiles(window.flatMap((bucket) => bucket?.timings[name] ?? []))]),
      ) as Record<TaskTimingMetric, Percentiles>,
      queue: this.#queue,
      series: {
        time: starts.map((start) => start / 1000),
        counts: Object.fromEntries(
          COUNT_NAMES.map((name) => [name, window.map((bucket) => bucket?.counts[name] ?? 0)]),
        ) as Record<TaskCountMetric, number[]>,
        queue: Object.fromEntries(
          QUEUE_KEYS.map((key) => [key, window.map((bucket) => bucket?.queue?.[key] ?? null)]),
        ) as Record<keyof QueueDepth, Array<number | null>>,
      },
    };
  }

  #bucketAt(timestamp: number): Bucket {
    const size = this.options.bucketSeconds * 1000;
    const start = Math.floor(timestamp / size) * size;
    let bucket = this.#buckets.find((b) => b.start === start);
    if (!bucket) {
      bucket = { start, counts: {}, timings: {} };
      this.#buckets.push(bucket);
      this.#buckets.sort((a, b) => a.start - b.start);
      const oldest = start - this.options.windowSeconds * 1000;
      while ((this.#buckets[0]?.start ?? oldest) < oldest) this.#buckets.shift();
    }
    return bucket;
  }
}

const isCount = (name: string): name is TaskCountMetric => (COUNT_NAMES as string[]).includes(name);
const isTiming = (name: string): name is TaskTimingMetric => (TIMING_NAMES as string[]).includes(name);

/** Nearest-rank percentiles, as CloudWatch reports pNN for raw values. */
function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: null, p99: null };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
  return { count: sorted.length, p50: rank(50), p99: rank(99) };
}
