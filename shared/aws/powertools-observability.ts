import { isRequestXRaySampled } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { QueueRoute } from '../lanes.js';
import type { TaskMetricName } from '../metric-names.js';
import { isTimingMetric, METRIC_DIMENSIONS, METRICS_NAMESPACE, METRICS_SERVICE } from '../metric-names.js';
import type { TaskMetrics } from '../task-metrics.js';

/**
 * Task metrics as CloudWatch EMF through Powertools Metrics. Events are buffered per task type and
 * written by {@link flush}, one EMF line per type, at the end of an invocation: a worker batch runs
 * records of several types at once, and Powertools dimensions are per instance, not per record.
 *
 * Every line carries two dimension sets, `[service]` and `[service, TaskType]`: the first gives
 * totals and percentiles over all types (a p99 cannot be summed from per-type p99s), the second the
 * breakdown. Types the registry does not know get only the first, which keeps the cardinality bounded.
 * Events recorded with a lane and priority also get `[service, Lane, Priority]` (lanes are the
 * deployment's, so that set is bounded too).
 */
export class PowertoolsTaskMetrics implements TaskMetrics {
  readonly #pending = new Map<
    string,
    { type?: string; route?: QueueRoute; events: Array<{ name: TaskMetricName; value: number }> }
  >();

  constructor(
    private readonly metrics: Metrics,
    private readonly isRegisteredType: (type: string) => boolean,
  ) {}

  record(name: TaskMetricName, type: string, value = 1, route?: QueueRoute): void {
    const registered = this.isRegisteredType(type) ? type : undefined;
    const key = JSON.stringify([registered, route?.lane, route?.priority]);
    const group = this.#pending.get(key) ?? { type: registered, route, events: [] };
    group.events.push({ name, value });
    this.#pending.set(key, group);
  }

  /** Writes the buffered events; call once per invocation, also when it failed. */
  flush(): void {
    for (const { type, route, events } of this.#pending.values()) {
      if (type !== undefined) this.metrics.addDimensions({ [METRIC_DIMENSIONS.taskType]: type });
      if (route !== undefined) {
        this.metrics.addDimensions({
          [METRIC_DIMENSIONS.lane]: route.lane,
          [METRIC_DIMENSIONS.priority]: route.priority,
        });
      }
      // An empty set publishes the `[service]` dimension set alongside the others.
      if (type !== undefined || route !== undefined) this.metrics.addDimensions({});
      for (const { name, value } of events) {
        this.metrics.addMetric(name, isTimingMetric(name) ? MetricUnit.Milliseconds : MetricUnit.Count, value);
      }
      this.metrics.publishStoredMetrics();
    }
    this.#pending.clear();
  }
}

/**
 * Powertools Tracer (X-Ray subsegments for the SDK calls), loaded by the first invocation X-Ray
 * samples instead of by every cold start.
 *
 * Active tracing already traces every invocation, and the SDK passes the trace header on to SQS
 * without help; the Tracer adds a subsegment per DynamoDB and SQS call. It is built on
 * aws-xray-sdk-core, whose import (with cls-hooked and semver) was the largest part of every
 * function's init, about 12 ms on Node 24. An invocation X-Ray does not sample would record nothing
 * with it, so it is imported only when one that is sampled starts; from then on the clients are
 * captured for the life of the container, as they were before.
 */
export class DeferredTracer {
  readonly #clients: object[] = [];
  #loaded: Promise<void> | undefined;

  constructor(private readonly serviceName: string) {}

  /** Registers an SDK client; its calls are recorded from the first sampled invocation on. */
  captureAWSv3Client<T extends object>(client: T): T {
    this.#clients.push(client);
    return client;
  }

  /** Call first in every invocation: loads the Tracer if X-Ray samples this one and it is not loaded yet. */
  async loadIfSampled(): Promise<void> {
    if (this.#loaded === undefined) {
      if (!isRequestXRaySampled()) return;
      this.#loaded = import('@aws-lambda-powertools/tracer').then(({ Tracer }) => {
        const tracer = new Tracer({ serviceName: this.serviceName });
        for (const client of this.#clients) tracer.captureAWSv3Client(client);
      });
    }
    await this.#loaded;
  }
}

export interface Observability {
  readonly logger: Logger;
  readonly tracer: DeferredTracer;
  readonly metrics: PowertoolsTaskMetrics;
}

/**
 * Logger, (deferred) Tracer and task metrics of one function, built once at module scope. The log level comes
 * from POWERTOOLS_LOG_LEVEL, which the stack sets from settings (infra/function-environment.ts).
 */
export function createObservability(serviceName: string, isRegisteredType: (type: string) => boolean): Observability {
  return {
    logger: new Logger({ serviceName }),
    tracer: new DeferredTracer(serviceName),
    metrics: new PowertoolsTaskMetrics(
      new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE }),
      isRegisteredType,
    ),
  };
}
