import { describe, expect, it } from 'vitest';
import { defineTask } from '../../functions/tasks/define-task.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { laneProblems, lanesOf, MAX_LANES } from '../../infra/lanes.js';
import {
  checkReservedConcurrency,
  deadLetterHorizonSeconds,
  reservedConcurrency,
  type SettingsOverrides,
  settings,
  withModuleLanes,
  withOverrides,
} from '../../infra/settings.js';
import { settingsProblems } from '../../infra/validate-settings.js';
import * as z from '../../shared/zod.js';

const LONG = { timeoutSeconds: 900, memoryMiB: 4096, batchSize: 1, maxConcurrency: 5 };
const withLanes = (lanes: SettingsOverrides['lanes'], more: SettingsOverrides = {}) =>
  withOverrides(settings, { ...more, lanes });
const noTypes = createTaskRegistry();
const problemsOf = (lanes: SettingsOverrides['lanes'], more: SettingsOverrides = {}) =>
  laneProblems(withLanes(lanes, more), noTypes);

describe('lanesOf', () => {
  it("makes the default lane of the worker's numbers, with a reserved high-priority share on top", () => {
    const [lane, ...others] = lanesOf(settings);

    expect(others).toEqual([]);
    expect(lane).toMatchObject({
      name: 'default',
      timeoutSeconds: settings.worker.timeoutSeconds,
      memoryMiB: settings.worker.memoryMiB,
      batchSize: settings.worker.batchSize,
      scaling: { mode: 'standard', maxConcurrency: settings.worker.maxConcurrency },
      highPriorityConcurrency: 2,
      reservedConcurrency: settings.worker.maxConcurrency + 2,
      visibilityTimeoutSeconds: 6 * settings.worker.timeoutSeconds,
      staleAfterSeconds: settings.recovery.staleAfterSeconds,
      oldestMessageAlarmSeconds: settings.observability.alarms.oldestMessageAgeSeconds,
    });
  });

  it("derives a lane's queue, sweep and alarm numbers from its own timeout", () => {
    const [defaultLane, long] = lanesOf(withLanes({ long: LONG }));

    expect(long).toMatchObject({
      name: 'long',
      timeoutSeconds: 900,
      memoryMiB: 4096,
      visibilityTimeoutSeconds: 5_400,
      deadLetterHorizonSeconds: settings.queue.maxReceiveCount * 5_400 + settings.tasks.leaseGraceSeconds,
      oldestMessageAlarmSeconds: 1_800,
      reservedConcurrency: 7,
    });
    // The sweep waits for the long lane in the ratio it waits for the default one to its dead-letter horizon.
    const ratio = settings.recovery.staleAfterSeconds / (defaultLane?.deadLetterHorizonSeconds ?? 1);
    expect(long?.staleAfterSeconds).toBe(Math.ceil((long?.deadLetterHorizonSeconds ?? 0) * ratio));
    expect(long?.staleAfterSeconds).toBeGreaterThan(long?.deadLetterHorizonSeconds ?? Number.POSITIVE_INFINITY);
  });

  it("gives a lane's fields left out the default lane's numbers", () => {
    const [, lane] = lanesOf(withLanes({ small: { memoryMiB: 256 } }));

    expect(lane).toMatchObject({
      timeoutSeconds: settings.worker.timeoutSeconds,
      batchSize: settings.worker.batchSize,
      scaling: { mode: 'standard', maxConcurrency: settings.worker.maxConcurrency },
      retryBaseDelaySeconds: settings.tasks.retryBaseDelaySeconds,
    });
  });

  it('runs a lane with provisioned pollers at 10 invocations a poller, plus its high-priority share', () => {
    const [, lane] = lanesOf(withLanes({ burst: { minimumPollers: 2, maximumPollers: 20 } }));

    expect(lane).toMatchObject({
      scaling: { mode: 'provisioned', minimumPollers: 2, maximumPollers: 20 },
      normalConcurrency: 200,
      reservedConcurrency: 202,
    });
  });
});

describe('laneProblems', () => {
  it('finds none in the default settings, nor with a 15-minute lane', () => {
    expect(problemsOf({})).toEqual([]);
    expect(problemsOf({ long: LONG })).toEqual([]);
  });

  it.each([
    ['a timeout past 15 minutes', { long: { timeoutSeconds: 901 } }, /lanes\.long\.timeoutSeconds is 901: 1 to 900/],
    ['too little memory', { long: { memoryMiB: 64 } }, /lanes\.long\.memoryMiB is 64/],
    ['a mapping concurrency of 1', { long: { maxConcurrency: 1 } }, /lanes\.long\.maxConcurrency is 1: 2 to 1,000/],
    ['a high-priority share of 1', { long: { highPriorityConcurrency: 1 } }, /highPriorityConcurrency is 1/],
    [
      'a batch over 10 without a window',
      { long: { batchSize: 50 } },
      /batchSize 50 above 10 needs maxBatchingWindowSeconds/,
    ],
    [
      'maxConcurrency and provisioned pollers together',
      { long: { maxConcurrency: 5, maximumPollers: 10 } },
      /provisioned mode \(minimumPollers, maximumPollers\) excludes maxConcurrency/,
    ],
    ['minimumPollers alone', { long: { minimumPollers: 5 } }, /minimumPollers without maximumPollers/],
    [
      'more minimum than maximum pollers',
      { long: { minimumPollers: 50, maximumPollers: 10 } },
      /exceeds maximumPollers/,
    ],
    [
      'a sweep that would not wait for the dead-letter queue',
      { long: { ...LONG, staleAfterSeconds: 3_600 } },
      /lanes\.long\.staleAfterSeconds \(3600\) must exceed/,
    ],
    [
      'an oldest-message alarm within the timeout',
      { long: { ...LONG, oldestMessageAlarmSeconds: 600 } },
      /alarm \(600 s\) must exceed the lane's timeout \(900 s\)/,
    ],
    [
      'a retry cap below its base',
      { long: { retryBaseDelaySeconds: 10, retryMaxDelaySeconds: 5 } },
      /retryMaxDelaySeconds \(5\) is below/,
    ],
    [
      'a retry cap of 12 hours: SQS counts them from the receive, so a visibility change that long is refused',
      { long: { retryMaxDelaySeconds: 43_200 } },
      /lanes\.long\.retryMaxDelaySeconds is 43200: a retry waits on its message's visibility, at most 42000 s/,
    ],
    [
      "the default lane's timeout",
      { default: { timeoutSeconds: 30 } },
      /lanes\.default\.timeoutSeconds: the default lane's timeoutSeconds is a setting of its own/,
    ],
    ['a lane name with capitals', { Long: LONG }, /Lane name "Long"/],
  ])('reports %s', (_case, lanes, message) => {
    expect(problemsOf(lanes as SettingsOverrides['lanes']).join('\n')).toMatch(message);
  });

  it(`allows at most ${MAX_LANES} lanes, so every lane's queue URLs fit the functions' environment`, () => {
    const lanes = Object.fromEntries(Array.from({ length: MAX_LANES }, (_, n) => [`lane-${n}`, { maxConcurrency: 2 }]));

    expect(problemsOf(lanes).join('\n')).toMatch(`${MAX_LANES + 1} lanes: at most ${MAX_LANES}`);
  });

  it('refuses a task type whose lane the deployment does not have, and takes it once the lane exists', () => {
    const registry = createTaskRegistry({
      tasks: { render: defineTask({ payload: z.object({}), lane: 'long', run: async () => 1 }) },
    });

    expect(settingsProblems(settings, registry).join('\n')).toMatch(
      /Task type "render" runs in lane "long", which this deployment does not have \(lanes: default\)/,
    );
    expect(settingsProblems(withLanes({ long: LONG }), registry)).toEqual([]);
  });
});

describe('withOverrides on lanes', () => {
  it('adds a lane, and merges a lane of the same name field by field', () => {
    const once = withLanes({ long: LONG });
    const twice = withOverrides(once, { lanes: { long: { memoryMiB: 2048 }, video: { maxConcurrency: 3 } } });

    expect(twice.lanes).toEqual({
      default: { highPriorityConcurrency: 2 },
      long: { ...LONG, memoryMiB: 2048 },
      video: { maxConcurrency: 3 },
    });
  });

  it.each([
    [{ long: { timeout: 900 } }, /lanes\.long\.timeout is not a lane setting/],
    [{ long: { timeoutSeconds: '900' } }, /lanes\.long\.timeoutSeconds must be a finite number, got string "900"/],
    [{ long: 900 }, /lanes\.long must be an object of lane settings/],
  ])('refuses %j, naming the field', (lanes, message) => {
    expect(() => withLanes(lanes as never)).toThrow(message);
  });
});

describe('withModuleLanes', () => {
  it("takes the module's value for a field the settings leave at its default, as the construct does", () => {
    const s = withModuleLanes(settings, { default: { highPriorityConcurrency: 4 }, long: { timeoutSeconds: 600 } });

    expect(s.lanes.default?.highPriorityConcurrency).toBe(4);
    expect(s.lanes.long?.timeoutSeconds).toBe(600);
  });

  it("lets settings that changed a field tune the module's lane", () => {
    const tuned = withOverrides(settings, {
      lanes: { default: { highPriorityConcurrency: 3 }, long: { memoryMiB: 2048 } },
    });

    const s = withModuleLanes(tuned, { default: { highPriorityConcurrency: 4 }, long: { timeoutSeconds: 600 } });

    expect(s.lanes.default?.highPriorityConcurrency).toBe(3);
    expect(s.lanes.long).toEqual({ timeoutSeconds: 600, memoryMiB: 2048 });
  });
});

describe('reserved concurrency of lanes', () => {
  it("reserves each lane's worker both its mappings, and the dead-letter handler one mapping per lane", () => {
    expect(reservedConcurrency(withLanes({ long: LONG }))).toEqual({
      api: settings.api.reservedConcurrency,
      worker: settings.worker.maxConcurrency + 2,
      'lane:long': 7,
      deadLetter: 2 * settings.dlq.maxConcurrency,
      recovery: 1,
      callbacks: settings.callbacks.maxConcurrency,
      scheduleFire: settings.schedules.fire.reservedConcurrency,
    });
  });

  it('names the lanes in the error when the reservations do not fit the account', () => {
    expect(() => checkReservedConcurrency(withLanes({ long: { ...LONG, maxConcurrency: 900 } }))).toThrow(
      /api 100 \+ worker 12 \+ lane:long 902 \+ deadLetter 4 \+ recovery 1/,
    );
  });
});

describe("the sweep's stale time", () => {
  it('keeps its ratio to the dead-letter horizon when the worker timeout grows, so a 120-s worker is valid as is', () => {
    const s = withOverrides(settings, { worker: { timeoutSeconds: 120 } });

    expect(settingsProblems(s, noTypes)).toEqual([]);
    expect(s.recovery.staleAfterSeconds / deadLetterHorizonSeconds(s)).toBeCloseTo(
      settings.recovery.staleAfterSeconds / deadLetterHorizonSeconds(settings),
      3,
    );
    // A shorter timeout keeps the default: the sweep never gets quicker than its 45 minutes on its own.
    expect(withOverrides(settings, { worker: { timeoutSeconds: 10 } }).recovery.staleAfterSeconds).toBe(
      settings.recovery.staleAfterSeconds,
    );
  });

  it('is taken as set when set, and reported when it is within the horizon', () => {
    const s = withOverrides(settings, { worker: { timeoutSeconds: 120 }, recovery: { staleAfterSeconds: 3_000 } });

    expect(s.recovery.staleAfterSeconds).toBe(3_000);
    expect(settingsProblems(s, noTypes).join('\n')).toMatch(/recovery\.staleAfterSeconds \(3000\) must exceed/);
  });
});
