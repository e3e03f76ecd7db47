import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type OffloadDevProcess, startOffloadDev } from '../support/offload-dev-process.js';

type RunningStack = OffloadDevProcess;

/** `npm start` (`offload dev` on the demonstration tasks) as a user runs it, in a child process that can be killed -9. */
const startStack = (dataDir: string) =>
  startOffloadDev([
    '--tasks',
    'functions/tasks/demo.ts',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--diagnostic-tasks',
    '--worker-timeout',
    // Short, so the interrupted task's message returns within the test (visibility = 6 × timeout), yet long
    // enough that its 1.5-s sleep fits a busy machine's attempt (the deadline keeps a tenth for the outcome).
    '3',
  ]);

async function api(stack: RunningStack, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as { taskId: string; status: string; attempts: number; resultUrl?: string };
}

async function waitFor(stack: RunningStack, taskId: string, done: (status: string) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await api(stack, 'GET', `/tasks/${taskId}`);
    if (done(task.status)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${task.status}`);
    await sleep(100);
  }
}

const stacks: RunningStack[] = [];
let dataDir = '';
afterAll(async () => {
  for (const stack of stacks) stack.process.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// Runs its own stacks, so only where the suite targets the local stack.
describe.skipIf(inject('apiUrl').startsWith('https://'))('local restart with --data-dir', () => {
  it('brings every accepted task to a terminal state after kill -9 and a restart', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'offload-restart-'));
    const first = await startStack(dataDir);
    stacks.push(first);
    const running = await api(first, 'POST', '/tasks', { type: 'sleep', payload: { ms: 1_500 } });
    const delayed = await api(first, 'POST', '/tasks', { type: 'echo', payload: 'later', delaySeconds: 3 });
    const finished = await api(first, 'POST', '/tasks', { type: 'echo', payload: 'now' });
    // Over 1 KB: a payload and a result kept in the task data bucket, which must outlive the restart too.
    const big = 'b'.repeat(4_096);
    const delayedBig = await api(first, 'POST', '/tasks', { type: 'echo', payload: big, delaySeconds: 3 });
    const finishedBig = await api(first, 'POST', '/tasks', { type: 'echo', payload: big });
    await waitFor(first, running.taskId, (status) => status === 'RUNNING');
    await waitFor(first, finished.taskId, (status) => status === 'SUCCEEDED');
    await waitFor(first, finishedBig.taskId, (status) => status === 'SUCCEEDED');

    first.process.kill('SIGKILL');
    await new Promise((resolve) => first.process.once('exit', resolve));
    const second = await startStack(dataDir);
    stacks.push(second);

    const [r, d, f] = await Promise.all(
      [running, delayed, finished].map((task) => waitFor(second, task.taskId, (status) => status === 'SUCCEEDED')),
    );
    // The interrupted attempt counts: the task ran again once its lease had expired.
    expect(r?.attempts).toBe(2);
    expect(d?.attempts).toBe(1);
    expect(f?.attempts).toBe(1);
    // The delayed task's payload object was still there to run it; the finished one's result still downloads.
    expect(
      (await waitFor(second, delayedBig.taskId, (status) => status !== 'QUEUED' && status !== 'RUNNING')).status,
    ).toBe('SUCCEEDED');
    const { resultUrl } = await api(second, 'GET', `/tasks/${finishedBig.taskId}`);
    const download = await fetch(resultUrl ?? 'http://127.0.0.1:9/none');
    expect(download.status).toBe(200);
    expect(await download.json()).toBe(big);
  });
});
