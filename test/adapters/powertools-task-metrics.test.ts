import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { type EmfEvent, parseEmfLine } from '../../infra/local/emf-capture.js';
import { PowertoolsTaskMetrics } from '../../shared/aws/powertools-observability.js';
import {
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  TASK_COUNTS,
  TASK_TIMINGS,
} from '../../shared/metric-names.js';
import { stdoutLines } from '../support/stdout-lines.js';

/** Runs `emit` and returns the EMF documents Powertools printed, parsed as CloudWatch would. */
async function emitted(
  emit: (metrics: PowertoolsTaskMetrics) => void,
): Promise<{ lines: string[]; events: EmfEvent[] }> {
  const lines = await stdoutLines(() => {
    const metrics = new PowertoolsTaskMetrics(
      new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE }),
      (type) => type === 'echo' || type === 'sleep',
    );
    emit(metrics);
    metrics.flush();
  });
  const events = lines.flatMap((line) => parseEmfLine(line) ?? []);
  return { lines, events };
}

describe('PowertoolsTaskMetrics', () => {
  it('writes one EMF line per task type, with totals and per-type dimension sets', async () => {
    const { lines, events } = await emitted((metrics) => {
      metrics.record(TASK_COUNTS.started, 'echo');
      metrics.record(TASK_TIMINGS.durationMs, 'echo', 12);
      metrics.record(TASK_TIMINGS.durationMs, 'echo', 30);
      metrics.record(TASK_COUNTS.started, 'sleep');
    });

    expect(events).toHaveLength(2);
    const [echo] = lines.map((line) => JSON.parse(line));
    expect(echo._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [[METRIC_DIMENSIONS.service, METRIC_DIMENSIONS.taskType], [METRIC_DIMENSIONS.service]],
        Metrics: [
          { Name: TASK_COUNTS.started, Unit: 'Count' },
          { Name: TASK_TIMINGS.durationMs, Unit: 'Milliseconds' },
        ],
      },
    ]);
    expect(echo).toMatchObject({
      [METRIC_DIMENSIONS.service]: METRICS_SERVICE,
      [METRIC_DIMENSIONS.taskType]: 'echo',
      [TASK_COUNTS.started]: 1,
      [TASK_TIMINGS.durationMs]: [12, 30],
    });
    expect(events[1]?.dimensions).toEqual({ service: METRICS_SERVICE, TaskType: 'sleep' });
  });

  it('gives a type the registry does not know no TaskType dimension', async () => {
    const { lines } = await emitted((metrics) => metrics.record(TASK_COUNTS.failed, 'made-up-by-a-client'));

    const [document] = lines.map((line) => JSON.parse(line));
    expect(document._aws.CloudWatchMetrics[0].Dimensions).toEqual([[METRIC_DIMENSIONS.service]]);
    expect(document).not.toHaveProperty(METRIC_DIMENSIONS.taskType);
    expect(JSON.stringify(document)).not.toContain('made-up-by-a-client');
  });

  it('adds a lane-and-priority dimension set to events recorded with a lane and priority', async () => {
    const { lines } = await emitted((metrics) => {
      metrics.record(TASK_COUNTS.succeeded, 'echo', 1, { lane: 'long', priority: 'high' });
      metrics.record(TASK_COUNTS.succeeded, 'echo', 1, { lane: 'default', priority: 'normal' });
    });

    const documents = lines.map((line) => JSON.parse(line));
    expect(documents).toHaveLength(2);
    expect(documents[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([
      [METRIC_DIMENSIONS.service, METRIC_DIMENSIONS.taskType],
      [METRIC_DIMENSIONS.service, METRIC_DIMENSIONS.lane, METRIC_DIMENSIONS.priority],
      [METRIC_DIMENSIONS.service],
    ]);
    expect(documents[0]).toMatchObject({
      TaskType: 'echo',
      Lane: 'long',
      Priority: 'high',
      [TASK_COUNTS.succeeded]: 1,
    });
    expect(documents[1]).toMatchObject({ Lane: 'default', Priority: 'normal' });
  });

  it('writes nothing when nothing happened, and nothing twice', async () => {
    const { lines } = await emitted((metrics) => {
      metrics.record(TASK_COUNTS.submitted, 'echo');
      metrics.flush();
    });

    expect(lines).toHaveLength(1);
  });
});
