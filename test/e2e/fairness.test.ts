import { describe, expect, inject, it } from 'vitest';
import { call, type TaskBody, waitForTask } from './api-client.js';

const otherToken = inject('otherApiToken');
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * Fair queues end to end: a quiet owner's tasks submitted after another owner's backlog run before that
 * backlog is through. Without fair queues they would wait for all of it (SQS serves a standard queue
 * roughly in order): at most the last batch or two of the backlog would end after them. Judged by the
 * tasks' own `finishedAt`, not by when a poll happens to see them.
 */
describe.runIf(otherToken)('fair share under load', () => {
  it('runs a quiet owner’s tasks while a noisy owner’s backlog is still waiting', { timeout: 90_000 }, async () => {
    const backlog: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const tasks = Array.from({ length: 100 }, (_, n) => ({ type: 'sleep', payload: { ms: 1_000 + (n % 3) } }));
      const { status, body } = await call<{ results: { taskId: string }[] }>('POST', '/tasks/batch', {
        body: JSON.stringify({ tasks }),
        headers: { 'content-type': 'application/json' },
        token: otherToken,
      });
      expect(status).toBe(202);
      backlog.push(...body.results.map((result) => result.taskId));
    }

    const quiet = await Promise.all(
      Array.from({ length: 3 }, async (_, n) => {
        const { body } = await call<TaskBody>('POST', '/tasks', {
          body: JSON.stringify({ type: 'echo', payload: { quiet: n } }),
          headers: { 'content-type': 'application/json' },
        });
        return body.taskId;
      }),
    );
    const quietEnds: number[] = [];
    for (const taskId of quiet) {
      const task = await waitForTask(taskId, { timeoutMs: 60_000 });
      expect(task.status).toBe('SUCCEEDED');
      quietEnds.push(Date.parse(String(task.finishedAt)));
    }

    // Every task of the backlog ends in time; read back 100 at a time until all have.
    const backlogEnds: number[] = [];
    for (let start = 0; start < backlog.length; start += 100) {
      const ids = backlog.slice(start, start + 100).join(',');
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { body } = await call<{ tasks: TaskBody[] }>('GET', `/tasks?ids=${ids}`, { token: otherToken });
        if (body.tasks.every((task) => TERMINAL.has(task.status))) {
          backlogEnds.push(...body.tasks.map((task) => Date.parse(String(task.finishedAt))));
          break;
        }
        if (Date.now() > deadline) throw new Error('the backlog did not finish in time');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const lastQuiet = Math.max(...quietEnds);
    // A third of the backlog at least was still to run when the last quiet task was done. (The worker runs 100
    // tasks at once, so the backlog takes four rounds; without fair queues the quiet tasks come in the fourth or
    // fifth, and about 90 of the backlog end after them. With them, 180-300 do: the pollers take the next round's
    // messages ahead of time, and how many depends on the load of the machine.)
    const endedAfter = backlogEnds.filter((end) => end > lastQuiet).length;
    expect(endedAfter).toBeGreaterThan(backlog.length / 3);
  });
});
