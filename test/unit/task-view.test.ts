import { describe, expect, it } from 'vitest';
import { type Task, type TaskStatus, toTaskView } from '../../shared/task.js';
import { taskFactory } from '../support/factories.js';

const ERROR = { code: 'HandlerError', message: 'boom' };

/** A task with every field set, including the ones only the system may see. */
const fullTask = (overrides: Partial<Task> = {}): Task =>
  taskFactory({
    status: 'SUCCEEDED',
    payload: { secret: 'card-number' },
    idempotencyKey: 'key-1',
    attempt: 2,
    maxAttempts: 3,
    startedAt: '2026-11-02T10:00:01.000Z',
    finishedAt: '2026-11-02T10:00:02.000Z',
    leaseExpiresAt: 1_790_000_000_000,
    progress: { percent: 100, message: 'done' },
    result: { ok: true },
    lane: 'long',
    priority: 'high',
    ...overrides,
  });

describe('toTaskView', () => {
  it('shows the caller their task, named as in the API', () => {
    const task = fullTask();

    expect(toTaskView(task)).toEqual({
      taskId: task.taskId,
      type: 'echo',
      status: 'SUCCEEDED',
      lane: 'long',
      priority: 'high',
      attempts: 2,
      maxAttempts: 3,
      createdAt: task.createdAt,
      updatedAt: task.updatedAt,
      startedAt: '2026-11-02T10:00:01.000Z',
      finishedAt: '2026-11-02T10:00:02.000Z',
      progress: { percent: 100, message: 'done' },
      result: { ok: true },
    });
  });

  it.each(['ownerId', 'payload', 'payloadHash', 'leaseExpiresAt', 'idempotencyKey', 'expiresAt', 'attempt'])(
    'leaves out %s',
    (field) => {
      expect(toTaskView(fullTask())).not.toHaveProperty(field);
    },
  );

  it('has no keys for optional fields that are not set', () => {
    const view = toTaskView(taskFactory());

    expect(Object.keys(view).sort()).toEqual([
      'attempts',
      'createdAt',
      'lane',
      'maxAttempts',
      'priority',
      'status',
      'taskId',
      'type',
      'updatedAt',
    ]);
  });

  it('shows a task stored before lanes existed in the default lane at normal priority', () => {
    const view = toTaskView(taskFactory());

    expect(view).toMatchObject({ lane: 'default', priority: 'normal' });
  });

  it.each([0, false, '', null])('shows a falsy result %j', (result) => {
    expect(toTaskView(fullTask({ result }))).toHaveProperty('result', result);
  });

  it.each<TaskStatus>(['QUEUED', 'RUNNING'])('shows lastError while the task is %s', (status) => {
    const view = toTaskView(taskFactory({ status, attempt: 1, lastError: ERROR }));

    expect(view.lastError).toEqual(ERROR);
  });

  it('shows the error but not lastError once the task has FAILED', () => {
    const view = toTaskView(
      taskFactory({ status: 'FAILED', attempt: 3, lastError: ERROR, error: { code: 'Final', message: 'gave up' } }),
    );

    expect(view.error).toEqual({ code: 'Final', message: 'gave up' });
    expect(view).not.toHaveProperty('lastError');
  });
});
