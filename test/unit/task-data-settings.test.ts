import { describe, expect, it } from 'vitest';
import { type Settings, settings } from '../../infra/settings.js';
import { settingsProblems } from '../../infra/validate-settings.js';

const withTaskData = (taskData: Partial<Settings['taskData']>, api: Partial<Settings['api']> = {}): Settings => ({
  ...settings,
  api: { ...settings.api, ...api },
  taskData: { ...settings.taskData, ...taskData },
});

describe('task data settings', () => {
  it('accepts the defaults', () => {
    expect(settingsProblems(settings, new Map())).toEqual([]);
  });

  it.each([
    {
      name: 'an inline limit above the body limit',
      s: withTaskData({ inlineMaxBytes: 300 * 1024 }),
      says: 'inlineMaxBytes',
    },
    { name: 'objects smaller than a body', s: withTaskData({ maxObjectBytes: 1024 }), says: 'below api.maxBodyBytes' },
    {
      // No Lambda has the memory to check such an upload either: both are said.
      name: 'objects over one PUT',
      s: withTaskData({ maxObjectBytes: 6 * 1024 ** 3 }, { memoryMiB: 10_240 }),
      says: ['5 GiB', 'needs about 4 times as much API memory'],
    },
    {
      name: 'an API too small to read an upload',
      s: withTaskData({}, { memoryMiB: 256 }),
      says: 'api.memoryMiB is 256',
    },
    {
      name: 'an upload URL past SigV4’s 7 days',
      s: withTaskData({ uploadUrlSeconds: 604_801 }),
      says: 'uploadUrlSeconds',
    },
    { name: 'a download URL of 0 s', s: withTaskData({ downloadUrlSeconds: 0 }), says: 'downloadUrlSeconds' },
  ])('refuses $name', ({ s, says }) => {
    const expected = (typeof says === 'string' ? [says] : says).map((text) => expect.stringContaining(text));
    expect(settingsProblems(s, new Map())).toEqual(expected);
  });
});
