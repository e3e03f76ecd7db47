import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgressReporter } from '../../functions/worker/progress-reporter.js';
import { taskFactory } from '../support/factories.js';
import { FakeClock, RecordingLog, TEST_NOW } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

function setup() {
  const clock = new FakeClock();
  const task = taskFactory({ status: 'RUNNING', attempt: 1 });
  const store = new InMemoryTaskStore([task]);
  const write = vi.spyOn(store, 'progress');
  const watch = { observe: vi.fn() };
  const reporter = createProgressReporter(task, { store, clock: clock.now, log: new RecordingLog() }, watch);
  return { clock, task, store, write, watch, reporter };
}

describe('progress reporter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the first report at once and at most one more per second, the latest value winning', async () => {
    const { clock, task, store, write, reporter } = setup();

    reporter.report(10, 'a');
    reporter.report(20, 'b');
    reporter.report(30, 'c');
    expect(write).toHaveBeenCalledTimes(1);

    clock.advance(1_000);
    await vi.advanceTimersByTimeAsync(1_000);

    expect(write).toHaveBeenCalledTimes(2);
    expect(store.peek(task.taskId)?.progress).toEqual({ percent: 30, message: 'c' });
  });

  it.each([
    [150, 100],
    [-5, 0],
    [33.333, 33.3],
  ])('clamps and rounds percent %d to %d', async (percent, expected) => {
    const { task, store, reporter } = setup();

    reporter.report(percent);
    await vi.runAllTimersAsync();

    expect(store.peek(task.taskId)?.progress).toEqual({ percent: expected });
  });

  it('ignores a percent that is not a number and truncates long messages', async () => {
    const { task, store, write, reporter } = setup();

    reporter.report(Number.NaN, 'nope');
    reporter.report(50, 'x'.repeat(500));
    await vi.runAllTimersAsync();

    expect(write).toHaveBeenCalledTimes(1);
    expect(store.peek(task.taskId)?.progress?.message).toHaveLength(200);
  });

  it('passes the task it reads back from the write to the watch, cancel request included', async () => {
    const { task, store, watch, reporter } = setup();
    await store.cancel(task.taskId, task.ownerId, TEST_NOW, task.expiresAt);

    reporter.report(5);
    await vi.runAllTimersAsync();

    expect(watch.observe).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ cancelRequested: true }));
  });

  it('tells the watch when the write finds the attempt no longer current', async () => {
    const { task, store, watch, reporter } = setup();
    // Another delivery took the task over after this attempt's lease.
    await store.claim(task.taskId, new Date(Date.parse(task.createdAt) + 1), 0);
    store.seed({ ...task, attempt: 2 });

    reporter.report(5);
    await vi.runAllTimersAsync();

    expect(watch.observe).toHaveBeenCalledExactlyOnceWith(undefined);
  });

  it('writes nothing after stop, even a pending trailing value', async () => {
    const { clock, write, reporter } = setup();
    reporter.report(1);
    reporter.report(2);

    reporter.stop();
    clock.advance(5_000);
    await vi.runAllTimersAsync();

    expect(write).toHaveBeenCalledTimes(1);
  });
});
