import { describe, expect, it } from 'vitest';
import { defineTask, type TaskContext, type TaskDefinition } from '../../functions/tasks/define-task.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { LONG_SLEEP_MAX_MS, SLEEP_MAX_MS } from '../../functions/tasks/sleep.js';
import { PermanentError } from '../../shared/errors.js';
import * as z from '../../shared/zod.js';

const context = (overrides: Partial<TaskContext> = {}): TaskContext => ({
  taskId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  attempt: 1,
  signal: new AbortController().signal,
  progress: () => {},
  artifacts: { put: async () => {} },
  ...overrides,
});

/** Looks a type up and runs it as the worker does: payload through the schema first. */
async function run(type: string, payload: unknown, ctx: TaskContext = context()): Promise<unknown> {
  const definition = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: true }).get(type) as TaskDefinition;
  return definition.run(z.parse(definition.payload, payload), ctx);
}

describe('createTaskRegistry', () => {
  it('registers echo, sleep and longSleep only, unless diagnostic types are asked for', () => {
    expect([...createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }).keys()].sort()).toEqual([
      'echo',
      'longSleep',
      'sleep',
    ]);
  });

  it('registers no type at all unless demonstration or diagnostic types are asked for', () => {
    expect(createTaskRegistry({ diagnostic: false }).size).toBe(0);
  });

  it('adds fail, flaky, crash, ledger and bulk when diagnostic types are asked for', () => {
    expect([...createTaskRegistry({ tasks: demoTaskTypes, diagnostic: true }).keys()].sort()).toEqual([
      'bulk',
      'crash',
      'echo',
      'fail',
      'flaky',
      'ledger',
      'longSleep',
      'sleep',
    ]);
  });

  it("registers a task module's own types under their names", () => {
    const report = defineTask({ payload: z.object({ month: z.string() }), run: async ({ month }) => ({ month }) });
    expect([...createTaskRegistry({ tasks: { report, 'media.resize-v2': report } }).keys()]).toEqual([
      'report',
      'media.resize-v2',
    ]);
  });

  it.each([
    ['a name the API would not accept', { '9lives': demoTaskTypes.echo }, /not allowed/],
    ['a name past 64 characters', { [`a${'b'.repeat(64)}`]: demoTaskTypes.echo }, /not allowed/],
    ['an entry that is not a task definition', { report: { run: 'no' } }, /defineTask/],
    ['a name a diagnostic type has', { fail: demoTaskTypes.echo }, /also a diagnostic task type/],
    ['a lane name with capitals', { report: { ...demoTaskTypes.echo, lane: 'Long' } }, /names lane "Long"/],
    ['a lane that is not a string', { report: { ...demoTaskTypes.echo, lane: 7 } }, /names lane 7/],
  ])('refuses %s', (_case, tasks, message) => {
    expect(() => createTaskRegistry({ tasks: tasks as never, diagnostic: true })).toThrow(message);
  });

  it.each(['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf', 'ECHO', ''])(
    'knows nothing of %j',
    (type) => {
      const registry = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: true });

      expect(registry.get(type)).toBeUndefined();
      expect(registry.has(type)).toBe(false);
    },
  );
});

describe('echo', () => {
  it.each([{ nested: { list: [1, 'two', null] } }, 'text', 0, null, [true]])(
    'returns %j unchanged',
    async (payload) => {
      expect(await run('echo', payload)).toEqual(payload);
    },
  );
});

describe('sleep', () => {
  it('waits and reports how long', async () => {
    expect(await run('sleep', { ms: 1 })).toEqual({ sleptMs: 1 });
  });

  it('rejects at once when its signal has already fired', async () => {
    const started = performance.now();

    await expect(run('sleep', { ms: 40_000 }, context({ signal: AbortSignal.abort() }))).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('stops sleeping when its signal fires', async () => {
    const controller = new AbortController();
    const sleeping = run('sleep', { ms: 40_000 }, context({ signal: controller.signal }));

    controller.abort();

    await expect(sleeping).rejects.toMatchObject({ name: 'AbortError' });
  });

  it.each([{ ms: -1 }, { ms: 1.5 }, { ms: SLEEP_MAX_MS + 1 }, { ms: 1, extra: 1 }, {}])(
    'refuses the payload %j',
    (payload) => {
      const sleep = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }).get('sleep') as TaskDefinition;

      expect(z.safeParse(sleep.payload, payload).success).toBe(false);
    },
  );
});

describe('longSleep', () => {
  const longSleep = () =>
    createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }).get('longSleep') as TaskDefinition;

  it('runs in the long lane', () => {
    expect(longSleep().lane).toBe('long');
  });

  it.each([
    [LONG_SLEEP_MAX_MS, true],
    [SLEEP_MAX_MS + 1, true],
    [LONG_SLEEP_MAX_MS + 1, false],
  ])('takes %i ms: %s (past the default lane, within one 15-minute attempt)', (ms, accepted) => {
    expect(z.safeParse(longSleep().payload, { ms }).success).toBe(accepted);
  });

  it('waits and reports how long', async () => {
    expect(await run('longSleep', { ms: 1 })).toEqual({ sleptMs: 1 });
  });
});

describe('fail', () => {
  it('throws a PermanentError with the code and message asked for', async () => {
    const failure = run('fail', { code: 'CardDeclined', message: 'The card was declined.' });

    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toMatchObject({ code: 'CardDeclined', message: 'The card was declined.' });
  });

  it('uses a default message', async () => {
    await expect(run('fail', { code: 'Oops' })).rejects.toMatchObject({ code: 'Oops', message: 'Failed on purpose.' });
  });

  it.each(['', '1abc', 'has space', 'a'.repeat(65)])('refuses the code %j', (code) => {
    const fail = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: true }).get('fail') as TaskDefinition;

    expect(z.safeParse(fail.payload, { code }).success).toBe(false);
  });
});

describe('flaky', () => {
  it.each([
    { failures: 2, attempt: 1, succeeds: false },
    { failures: 2, attempt: 2, succeeds: false },
    { failures: 2, attempt: 3, succeeds: true },
    { failures: 0, attempt: 1, succeeds: true },
  ])('with $failures failures, attempt $attempt succeeds: $succeeds', async ({ failures, attempt, succeeds }) => {
    const outcome = run('flaky', { failures }, context({ attempt }));

    if (succeeds) {
      await expect(outcome).resolves.toEqual({ attempt });
    } else {
      const error = await outcome.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      // Retryable: anything but a PermanentError.
      expect(error).not.toBeInstanceOf(PermanentError);
    }
  });
});

describe('crash', () => {
  it('never settles, even when its signal fires', async () => {
    const running = run('crash', {}, context({ signal: AbortSignal.abort() }));
    const pending = Symbol('pending');

    const first = await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 5, pending))]);

    expect(first).toBe(pending);
  });
});

describe('bulk', () => {
  it('reports the size and digest of its text, pads its result and writes the files asked for', async () => {
    const written: unknown[][] = [];
    const ctx = context({ artifacts: { put: async (...args) => void written.push(args) } });

    const result = await run('bulk', { text: 'abc', resultBytes: 5, files: [{ name: 'a.txt', text: 'A' }] }, ctx);

    expect(result).toEqual({
      textBytes: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      padding: 'xxxxx',
    });
    expect(written).toEqual([['a.txt', 'A', undefined]]);
  });
});
