import { describe, expect, it } from 'vitest';
import { defineTask } from '../../functions/tasks/define-task.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { type Settings, settings, withOverrides } from '../../infra/settings.js';
import { settingsProblems } from '../../infra/validate-settings.js';
import * as z from '../../shared/zod.js';

const task = (maxRunningPerOwner?: number) =>
  defineTask({
    payload: z.object({}),
    ...(maxRunningPerOwner !== undefined && { maxRunningPerOwner }),
    run: async () => 1,
  });

const fairness = (overrides: Parameters<typeof withOverrides>[1]): Settings => withOverrides(settings, overrides);

describe('settings.fairness', () => {
  it('is valid as it ships: fair queues on, both limits off', () => {
    expect(settings.fairness).toMatchObject({
      fairQueues: true,
      ownerConcurrency: { enabled: false },
      submitRate: { enabled: false },
    });
    expect(settingsProblems(settings, createTaskRegistry({ tasks: { a: task() } }))).toEqual([]);
  });

  it.each([
    [{ fairness: { ownerConcurrency: { enabled: true, maxRunning: 0 } } }, 'fairness.ownerConcurrency.maxRunning is 0'],
    [{ fairness: { ownerConcurrency: { maxRunning: -1 } } }, 'fairness.ownerConcurrency.maxRunning is -1'],
    [{ fairness: { ownerConcurrency: { maxRunning: 2.5 } } }, 'fairness.ownerConcurrency.maxRunning is 2.5'],
    [{ fairness: { ownerConcurrency: { maxWaitSeconds: 0 } } }, 'fairness.ownerConcurrency.maxWaitSeconds is 0'],
    [{ fairness: { ownerConcurrency: { maxWaitSeconds: 901 } } }, 'fairness.ownerConcurrency.maxWaitSeconds is 901'],
    [{ fairness: { submitRate: { enabled: true, maxTasks: 0 } } }, 'fairness.submitRate.maxTasks is 0'],
    [{ fairness: { submitRate: { windowSeconds: 0 } } }, 'fairness.submitRate.windowSeconds is 0'],
    [{ fairness: { submitRate: { windowSeconds: 86_401 } } }, 'fairness.submitRate.windowSeconds is 86401'],
  ])('refuses %j, on or off: turning it on later must not break', (overrides, problem) => {
    expect(settingsProblems(fairness(overrides), createTaskRegistry())).toEqual([expect.stringContaining(problem)]);
  });

  it.each([0, -3, 1.5])('refuses a task type whose maxRunningPerOwner is %d', (limit) => {
    const problems = settingsProblems(settings, createTaskRegistry({ tasks: { report: task(limit) } }));

    expect(problems).toEqual([`Task type "report" has maxRunningPerOwner ${limit}: a whole number of at least 1.`]);
  });

  it('accepts a task type with a limit of its own while the deployment has none', () => {
    expect(settingsProblems(settings, createTaskRegistry({ tasks: { report: task(2) } }))).toEqual([]);
  });
});
