import { describe, expect, inject, it } from 'vitest';
import { call, type TaskBody, waitForTask } from './api-client.js';

const otherToken = inject('otherApiToken');
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * Fair queues end to end: a quiet owner's tasks submitted after another owner's backlog run before that
 * backlog is through. Without fair queues they would wait for all of it (SQS serves a standard queue
 * roughly in order), so the backlog would be finished by the time they are.
 */
describe.runIf(otherToken)('fair share under load', () => {
  it('runs a quiet owner’s tasks while a noisy owner’s backlog is still waiting', { timeout: 60_000 }, async () => {
    const backlog: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const tasks = Array.from({ length: 100 }, (_, n) => ({ type: 'sleep', payload: { ms: 20 + (n % 3) } }));
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
    for (const taskId of quiet) expect((await waitForTask(taskId, { timeoutMs: 50_000 })).status).toBe('SUCCEEDED');

    const unfinished = [];
    for (let start = 0; start < backlog.length; start += 100) {
      const ids = backlog.slice(start, start + 100).join(',');
      const { body } = await call<{ tasks: TaskBody[] }>('GET', `/tasks?ids=${ids}`, { token: otherToken });
      unfinished.push(...body.tasks.filter((task) => !TERMINAL.has(task.status)));
    }
    expect(unfinished.length).toBeGreaterThan(0);
  });
});
