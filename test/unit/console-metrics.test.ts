import { describe, expect, it } from 'vitest';
import { ConsoleMetrics } from '../../infra/local/console-metrics.js';
import type { EmfEvent } from '../../infra/local/emf-capture.js';
import { METRICS_NAMESPACE, TASK_COUNTS, TASK_TIMINGS } from '../../shared/metric-names.js';

const NOW = Date.UTC(2026, 10, 2, 10, 0, 0);

const event = (
  metrics: Record<string, number[]>,
  { at = NOW, type = 'echo' as string | null, namespace = METRICS_NAMESPACE } = {},
): EmfEvent => ({
  timestamp: at,
  namespace,
  dimensions: { service: 'offload', ...(type && { TaskType: type }) },
  metrics: Object.entries(metrics).map(([name, values]) => ({ name, unit: 'Count', values })),
});

describe('ConsoleMetrics', () => {
  it('totals counts overall and per task type', () => {
    const metrics = new ConsoleMetrics({ bucketSeconds: 5, windowSeconds: 600, since: NOW - 60_000 });
    metrics.add([event({ [TASK_COUNTS.submitted]: [1], [TASK_COUNTS.succeeded]: [1] })]);
    metrics.add([event({ [TASK_COUNTS.submitted]: [1] }, { type: 'sleep' })]);
    metrics.add([event({ [TASK_COUNTS.failed]: [1] }, { type: null })]);

    const snapshot = metrics.snapshot(NOW);

    expect(snapshot.totals).toMatchObject({
      [TASK_COUNTS.submitted]: 2,
      [TASK_COUNTS.succeeded]: 1,
      [TASK_COUNTS.failed]: 1,
      [TASK_COUNTS.retried]: 0,
    });
    expect(snapshot.byType).toEqual({
      echo: { [TASK_COUNTS.submitted]: 1, [TASK_COUNTS.succeeded]: 1 },
      sleep: { [TASK_COUNTS.submitted]: 1 },
    });
  });

  it('ignores metrics of other namespaces', () => {
    const metrics = new ConsoleMetrics({ bucketSeconds: 5, windowSeconds: 600, since: NOW - 60_000 });
    metrics.add([event({ [TASK_COUNTS.submitted]: [1] }, { namespace: 'Other' })]);

    expect(metrics.snapshot(NOW).totals[TASK_COUNTS.submitted]).toBe(0);
  });

  it('puts counts and queue samples in time buckets over the window, oldest first', () => {
    const metrics = new ConsoleMetrics({ bucketSeconds: 5, windowSeconds: 20, since: NOW - 60_000 });
    metrics.add([event({ [TASK_COUNTS.succeeded]: [1] }, { at: NOW - 12_000 })]);
    metrics.add([event({ [TASK_COUNTS.succeeded]: [1, 1] }, { at: NOW + 1_000 })]);
    metrics.addQueueSample({ visible: 4, inFlight: 1, delayed: 0, deadLetter: 0 }, NOW - 6_000);

    const { series } = metrics.snapshot(NOW + 2_000);

    expect(series.time).toEqual([NOW - 15_000, NOW - 10_000, NOW - 5_000, NOW].map((ms) => ms / 1000));
    expect(series.counts[TASK_COUNTS.succeeded]).toEqual([1, 0, 0, 2]);
    expect(series.queue.visible).toEqual([null, 4, null, null]);
  });

  it('forgets what falls out of the window', () => {
    const metrics = new ConsoleMetrics({ bucketSeconds: 5, windowSeconds: 20, since: NOW - 60_000 });
    metrics.add([event({ [TASK_COUNTS.succeeded]: [1] }, { at: NOW - 60_000 })]);

    expect(metrics.snapshot(NOW).series.counts[TASK_COUNTS.succeeded]).toEqual([0, 0, 0, 0]);
    expect(metrics.snapshot(NOW).totals[TASK_COUNTS.succeeded]).toBe(1);
  });

  it('charts from the start of the run while it is shorter than the window', () => {
    const metrics = new ConsoleMetrics({ bucketSeconds: 5, windowSeconds: 600, since: NOW - 7_000 });

    expect(metrics.snapshot(NOW + 1_000).series.time).toEqual([NOW - 10_000, NOW - 5_000, NOW].map((ms) => ms / 1000));
  });

  it('reports p50 and p99 of the timings in the window', () => {
    const metrics = new ConsoleMetrics({ bucketSeconds: 5, windowSeconds: 600, since: NOW - 60_000 });
    const durations = Array.from({ length: 100 }, (_, i) => i + 1);
    metrics.add([event({ [TASK_TIMINGS.durationMs]: durations })]);

    expect(metrics.snapshot(NOW).timings[TASK_TIMINGS.durationMs]).toEqual({ count: 100, p50: 50, p99: 99 });
    expect(metrics.snapshot(NOW).timings[TASK_TIMINGS.queueWaitMs]).toEqual({ count: 0, p50: null, p99: null });
  });
});
