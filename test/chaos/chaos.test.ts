import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS, runChaos } from './run-chaos.js';

describe('chaos: lost replies, crashed and dropped invocations, poison batches, duplicates, cancels, redrives, an owner concurrency limit', () => {
  it('keeps every promise of the lifecycle, with every recovery path exercised', { timeout: 170_000 }, async () => {
    const report = await runChaos({ ...DEFAULT_CHAOS, tasks: 200, settleTimeoutMs: 120_000 });

    expect(report.violations).toEqual({
      lost: 0,
      stuck: 0,
      overlappingExecutions: 0,
      executionAfterTerminal: 0,
      statusMismatch: 0,
      unexplainedSweepReenqueue: 0,
      keysWithManyTasks: 0,
      ownerConcurrency: 0,
      callbackUndelivered: 0,
    });
    expect(report.accepted).toBe(200);
    // A path that never ran proves nothing: each must have run at least once.
    expect(Object.entries(report.paths).filter(([, n]) => n === 0)).toEqual([]);
    expect(report.faultsInjected.sdk_lostReply).toBeGreaterThan(0);
    expect(report.faultsInjected.sdk_lostResponse).toBeGreaterThan(0);
  });
});
