import { describe, expect, it } from 'vitest';
import { lanes as demoLanes, taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { type Settings, settings, withOverrides } from '../../infra/settings.js';
import { settingsProblems } from '../../infra/validate-settings.js';

const registry = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false });
const withSchedules = (schedules: Partial<Settings['schedules']>): Settings => ({
  ...settings,
  schedules: { ...settings.schedules, ...schedules },
});

describe('schedule settings', () => {
  it("accepts the defaults (with the demonstration module's lanes, as its task types need)", () => {
    expect(settingsProblems(withOverrides(settings, { lanes: demoLanes }), registry)).toEqual([]);
  });

  it.each([
    [{ runAtQueueDelayMaxSeconds: 901 }, 'SQS delays a message by 1 to 900 s'],
    [{ runAtQueueDelayMaxSeconds: 0 }, 'SQS delays a message by 1 to 900 s'],
    [{ retryAttempts: 186 }, 'Scheduler retries 0 to 185 times'],
    [{ maxEventAgeSeconds: 59 }, 'Scheduler keeps a firing 60 to 86,400 s'],
    [{ maxEventAgeSeconds: 86_401 }, 'Scheduler keeps a firing 60 to 86,400 s'],
    [{ maxPerOwner: 0 }, 'schedules.maxPerOwner must be at least 1'],
    [{ maxRunAtDays: 0 }, 'schedules.maxRunAtDays must be at least 1'],
    [{ fire: { ...settings.schedules.fire, timeoutSeconds: 901 } }, 'Lambda allows 1 to 900'],
    [{ fire: { ...settings.schedules.fire, memoryMiB: 64 } }, 'schedules.fire.memoryMiB is 64'],
    [
      { fire: { ...settings.schedules.fire, reservedConcurrency: 0 } },
      'schedules.fire.reservedConcurrency must be at least 1',
    ],
  ])('refuses %j', (schedules, problem) => {
    expect(settingsProblems(withSchedules(schedules), registry).join('\n')).toContain(problem);
  });
});
