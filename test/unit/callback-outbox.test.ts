import { describe, expect, it } from 'vitest';
import { type BatchingCallbackQueue, CallbackOutbox } from '../../shared/callbacks/callback-outbox.js';
import type { CallbackMessage } from '../../shared/callbacks/ports.js';
import { FakeCallbackQueue } from '../support/fake-callbacks.js';

/** Records each batch; fails the messages whose task id starts with `fail`. */
class BatchRecorder extends FakeCallbackQueue implements BatchingCallbackQueue {
  readonly batches: string[][] = [];

  async enqueueBatch(messages: readonly CallbackMessage[]): Promise<readonly CallbackMessage[]> {
    this.batches.push(messages.map((message) => message.taskId));
    return messages.filter((message) => message.taskId.startsWith('fail'));
  }
}

describe('CallbackOutbox', () => {
  it('sends the messages of tasks that finish together in one batch request', async () => {
    const queue = new BatchRecorder();
    const outbox = new CallbackOutbox(queue, 5);

    await Promise.all(['a', 'b', 'c'].map((taskId) => outbox.enqueue({ taskId })));

    expect(queue.batches).toEqual([['a', 'b', 'c']]);
  });

  it('sends at most 10 per request, and rejects only the messages that were not sent', async () => {
    const queue = new BatchRecorder();
    const outbox = new CallbackOutbox(queue, 5);
    const ids = [...Array.from({ length: 11 }, (_, i) => `t${i}`), 'fail-1'];

    const results = await Promise.allSettled(ids.map((taskId) => outbox.enqueue({ taskId })));

    expect(queue.batches.map((batch) => batch.length)).toEqual([10, 2]);
    expect(results.map((result) => result.status)).toEqual([...Array(11).fill('fulfilled'), 'rejected']);
  });

  it('sends a delayed message (a retry) on its own, at once', async () => {
    const queue = new BatchRecorder();
    const outbox = new CallbackOutbox(queue, 5);

    await outbox.enqueue({ taskId: 'r' }, { delaySeconds: 30 });

    expect(queue.enqueued).toEqual([{ message: { taskId: 'r' }, delaySeconds: 30 }]);
    expect(queue.batches).toEqual([]);
  });
});
