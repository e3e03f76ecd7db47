import { describe, expect, it } from 'vitest';
import { AWS_LIMITS, type CapacityInputs, modelCapacity } from '../../bench/capacity-model.js';
import { lanes as demoLanes } from '../../functions/tasks/demo.js';
import { type SettingsOverrides, settings, withOverrides } from '../../infra/settings.js';

const deployed = withOverrides(settings, { lanes: demoLanes });
/** The API and table opened wide, so the lane's own scaling is what the run meets. */
const OPEN: SettingsOverrides = {
  api: { throttleRateLimit: 10_000, reservedConcurrency: 300 },
  store: { maxWriteRequestUnitsPerSecond: 40_000, maxReadRequestUnitsPerSecond: 40_000 },
};
const model = (inputs: Partial<CapacityInputs> & { settings?: typeof deployed }) =>
  modelCapacity({ rate: 100, burst: 1_000, taskMs: 1_000, settings: deployed, owners: 100, ...inputs });

describe('modelCapacity', () => {
  it('drains the burst of the README at the rate the default lane runs, after the API stage throttle binds first', () => {
    const result = model({ rate: 500, burst: 1_000_000, taskMs: 2_000, owners: 1 });

    // 10 invocations × 10 tasks every 2.04 s (2 s of task, 40 ms of overhead): 49 tasks a second.
    expect(result.steadyThroughput).toBeCloseTo(100 / 2.04, 5);
    expect(result.drainSeconds).toBeCloseTo(1_000_000 / (100 / 2.04), -2);
    expect(result.bindsFirst?.limit.name).toBe('apiStageThrottle');
    expect(result.bindsLongest?.limit.name).toBe('laneConcurrency');
    expect(result.submitSeconds).toBeCloseTo(1_000_000 / settings.api.throttleRateLimit, -1);
    expect(result.peakConcurrency).toBe(10);
  });

  it("ramps a standard mapping from 5 invocations by 300 a minute: a big lane's burst first waits for the ramp", () => {
    const s = withOverrides(deployed, { ...OPEN, worker: { maxConcurrency: 1_000 } });

    const result = model({ settings: s, rate: 5_000, burst: 200_000, taskMs: 10_000, accountConcurrency: 5_000 });

    expect(result.bindsFirst?.limit.name).toBe('mappingRamp');
    // 1,000 invocations take (1,000 - 5) / 300 minutes, about 3.3, to reach.
    expect(result.bound.mappingRamp).toBeGreaterThan(3 * 60);
    expect(result.bound.mappingRamp).toBeLessThan(3.5 * 60);
    expect(result.peakConcurrency).toBe(1_000);
  });

  it('ramps a provisioned mapping from its minimum pollers by 1,000 a minute', () => {
    const s = withOverrides(deployed, { ...OPEN, lanes: { burst: { minimumPollers: 10, maximumPollers: 100 } } });

    const result = model({
      settings: s,
      lane: 'burst',
      rate: 5_000,
      burst: 200_000,
      taskMs: 10_000,
      accountConcurrency: 5_000,
    });

    // 100 invocations at first (10 pollers × 10), 1,000 at most, +1,000 a minute: under a minute of ramp.
    expect(result.bound.mappingRamp).toBeGreaterThan(50);
    expect(result.bound.mappingRamp).toBeLessThan(60);
    expect(result.peakConcurrency).toBe(1_000);
  });

  it(`throttles one owner submitting past ${AWS_LIMITS.partitionWriteUnits} tasks a second on the owner index, and not a hundred`, () => {
    const s = withOverrides(deployed, OPEN);

    expect(model({ settings: s, rate: 2_000, burst: 20_000, taskMs: 100, owners: 1 }).bindsFirst?.limit.name).toBe(
      'ownerIndexPartition',
    );
    expect(
      model({ settings: s, rate: 2_000, burst: 20_000, taskMs: 100, owners: 100 }).bound.ownerIndexPartition,
    ).toBeUndefined();
  });

  it("holds submits and runs back together at the table's write ceiling, 3 writes a task", () => {
    const s = withOverrides(deployed, {
      ...OPEN,
      store: { maxWriteRequestUnitsPerSecond: 300 },
      worker: { maxConcurrency: 500 },
    });

    const result = model({ settings: s, rate: 1_000, burst: 10_000, taskMs: 100, accountConcurrency: 5_000 });

    expect(result.bindsLongest?.limit.name).toBe('tableWriteCeiling');
    // 300 write units a second: about 100 tasks a second end to end.
    expect(result.drainSeconds).toBeGreaterThan(10_000 / 100);
    expect(result.drainSeconds).toBeLessThan((10_000 / 100) * 1.3);
  });

  it("caps a lane at SQS's 120,000 in-flight messages when its batches are large", () => {
    const s = withOverrides(deployed, {
      ...OPEN,
      lanes: { bulk: { batchSize: 1_000, maxBatchingWindowSeconds: 1, maxConcurrency: 1_000 } },
    });

    const result = model({
      settings: s,
      lane: 'bulk',
      rate: 10_000,
      burst: 100,
      taskMs: 1_000,
      accountConcurrency: 5_000,
    });

    expect(result.limits.find((limit) => limit.name === 'sqsInFlight')?.value).toBe(120);
  });

  it('starts every local poller at once, with no API or table limits', () => {
    const result = model({ profile: 'local', rate: 1_000, burst: 1_000, taskMs: 1_000 });

    expect(result.limits.map((limit) => limit.name)).toEqual(['arrival', 'laneConcurrency']);
    expect(result.bound.mappingRamp).toBeUndefined();
    expect(result.peakConcurrency).toBe(settings.worker.maxConcurrency);
  });

  it('prices the burst at its share of the cost per million tasks, long tasks on a big lane dearer', () => {
    const quick = model({ burst: 2_000_000, taskMs: 100 });
    const long = model({ lane: 'long', burst: 100, taskMs: 600_000 });

    expect(quick.cost.totalUsd).toBeCloseTo(2 * quick.cost.perMillionUsd, 6);
    expect(long.cost.perMillionUsd).toBeGreaterThan(100 * quick.cost.perMillionUsd);
  });

  it('names a lane that does not exist', () => {
    expect(() => model({ lane: 'gpu' })).toThrow(/No lane "gpu"/);
  });

  it('holds one owner to its concurrency limit when fair share is on: the rest waits for its slots', () => {
    const s = withOverrides(deployed, { ...OPEN, fairness: { ownerConcurrency: { enabled: true, maxRunning: 4 } } });

    const one = model({ settings: s, owners: 1, rate: 100, burst: 200, taskMs: 1_000 });
    const many = model({ settings: s, owners: 50, rate: 100, burst: 200, taskMs: 1_000 });

    // 4 tasks at a time, 1.04 s each (the task and the invocation's overhead): about 50 s for 200.
    expect(one.bindsLongest?.limit.name).toBe('ownerConcurrency');
    expect(one.peakTasksRunning).toBe(4);
    expect(one.drainSeconds).toBeGreaterThan((200 / 4) * 1.04 - 2);
    expect(one.drainSeconds).toBeLessThan((200 / 4) * 1.04 + 3);
    // 50 owners have 200 slots between them: the lane binds again.
    expect(many.limits.find((limit) => limit.name === 'ownerConcurrency')?.value).toBe(200);
    expect(many.drainSeconds).toBeLessThan(one.drainSeconds / 5);
  });

  it('admits one owner at its submit rate limit when it is on', () => {
    const s = withOverrides(deployed, {
      ...OPEN,
      fairness: { submitRate: { enabled: true, maxTasks: 60, windowSeconds: 60 } },
    });

    const result = model({ settings: s, owners: 1, rate: 100, burst: 120, taskMs: 100 });

    expect(result.bindsFirst?.limit.name).toBe('ownerSubmitRate');
    expect(result.submitSeconds).toBeCloseTo(120, -1);
  });
});
