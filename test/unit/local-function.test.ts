import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvocationError, LocalFunction } from '../../infra/local/local-function.js';

const marks: string[] = [];
const channel = new BroadcastChannel('local-function-test');
channel.onmessage = (event: MessageEvent) => marks.push(String(event.data));

let fn: LocalFunction | undefined;
const lines: string[] = [];
function localFunction(timeoutMs: number): LocalFunction {
  fn = new LocalFunction({
    name: 'test-function',
    handlerModule: new URL('../support/fixtures/timed-handler.ts', import.meta.url).href,
    timeoutMs,
    memoryMiB: 128,
    env: { LOCAL_FUNCTION_TEST: 'from-the-stack' },
    onOutput: (line) => lines.push(line),
  });
  return fn;
}
afterEach(async () => {
  await fn?.stop();
  marks.length = 0;
  lines.length = 0;
});

describe('LocalFunction: invocations in their own execution environments', () => {
  it('runs the handler with the environment it was given, and reuses the warm environment', async () => {
    const local = localFunction(5_000);

    const first = await local.invoke({ waitMs: 0, mark: 'a' });
    const second = await local.invoke({ waitMs: 0, mark: 'b' });

    expect([first, second]).toEqual([
      { mark: 'a', threadEnv: 'from-the-stack' },
      { mark: 'b', threadEnv: 'from-the-stack' },
    ]);
    expect(lines).toEqual(['done a', 'done b']);
  });

  it('ends an invocation at its timeout: the handler is stopped and never finishes its work', async () => {
    const local = localFunction(200);

    const error = await local.invoke({ waitMs: 600, mark: 'late' }).catch((e: unknown) => e);
    await sleep(700);

    expect(error).toBeInstanceOf(InvocationError);
    expect(error).toMatchObject({ reason: 'timeout' });
    expect(marks).toEqual([]);
    // The next invocation gets a fresh environment.
    await expect(local.invoke({ waitMs: 0, mark: 'next' })).resolves.toMatchObject({ mark: 'next' });
  });

  it('ends an environment mid-invocation on an injected crash', async () => {
    const local = localFunction(5_000);

    const error = await local.invoke({ waitMs: 600, mark: 'crashed' }, { killAfterMs: 50 }).catch((e: unknown) => e);
    await sleep(700);

    expect(error).toMatchObject({ reason: 'killed' });
    expect(marks).toEqual([]);
  });

  it('rejects with the handler’s error and keeps the environment', async () => {
    const local = localFunction(5_000);

    await expect(local.invoke({ waitMs: 0, mark: 'x', fail: true })).rejects.toMatchObject({ reason: 'handler' });
    await expect(local.invoke({ waitMs: 0, mark: 'y' })).resolves.toMatchObject({ mark: 'y' });
  });
});
