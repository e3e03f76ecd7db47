import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS, runChaos } from './run-chaos.js';

describe('chaos: faults in SDK calls, crashed invocations, duplicates and cancellations', () => {
  it('brings every accepted task to exactly one terminal state', { timeout: 120_000 }, async () => {
    const report = await runChaos({ ...DEFAULT_CHAOS, tasks: 100, settleTimeoutMs: 90_000 });

    expect(report.accepted).toBe(100);
    expect(report).toMatchObject({ lost: 0, stuck: 0, doubleEffects: 0, keysWithManyTasks: 0 });
    expect(report.terminal).toBe(report.accepted);
    // The run must actually have been disturbed, or it proves nothing.
    expect(report.faultsInjected.sdk_lostRequest).toBeGreaterThan(0);
    expect(report.faultsInjected.sdk_lostResponse).toBeGreaterThan(0);
  });
});
