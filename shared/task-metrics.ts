import { createHash } from 'node:crypto';
import type { TaskMetricName } from './metric-names.js';

/**
 * Where the cores report task events. The AWS adapter turns them into CloudWatch EMF lines
 * (shared/aws/powertools-observability.ts); tests collect them in memory.
 */
export interface TaskMetrics {
  /** Records `value` (1 for counts, milliseconds for timings) for a task of `type`. */
  record(name: TaskMetricName, type: string, value?: number): void;
}

/** A stable, non-reversible stand-in for an owner id in logs. */
export const hashOwnerId = (ownerId: string): string => createHash('sha256').update(ownerId).digest('hex').slice(0, 16);
