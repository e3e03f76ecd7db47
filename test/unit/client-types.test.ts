import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { OffloadClient, type PayloadOf, type ResultOf, type TaskHandle, type TaskTypeMap } from '../../client/index.js';
import type { taskTypes } from '../../functions/tasks/demo.js';
import type { diagnosticTaskTypes } from '../../functions/tasks/registry.js';

// Checked by tsc (`npm run typecheck`): the calls below are never made, only compiled.
const client = new OffloadClient<typeof taskTypes>({ baseUrl: 'http://127.0.0.1:3000' });
type Diagnostic = typeof taskTypes & typeof diagnosticTaskTypes;

describe('payload and result types inferred from the registry', () => {
  it('takes each type’s payload input and yields its run result', () => {
    expectTypeOf<PayloadOf<typeof taskTypes, 'sleep'>>().toEqualTypeOf<{ ms: number }>();
    expectTypeOf<ResultOf<typeof taskTypes, 'sleep'>>().toEqualTypeOf<{ sleptMs: number }>();
    expectTypeOf<PayloadOf<typeof taskTypes, 'echo'>>().toEqualTypeOf<z.core.util.JSONType>();
    expectTypeOf(client.submit<'sleep'>).returns.resolves.toEqualTypeOf<TaskHandle<{ sleptMs: number }>>();
    expectTypeOf<TaskHandle<{ sleptMs: number }>['result']>().returns.resolves.toEqualTypeOf<{ sleptMs: number }>();
  });

  it('leaves out payload fields that have defaults', () => {
    expectTypeOf<PayloadOf<Diagnostic, 'fail'>>().toEqualTypeOf<{ code: string; message?: string | undefined }>();
    expectTypeOf<ResultOf<Diagnostic, 'flaky'>>().toEqualTypeOf<{ attempt: number }>();
  });

  it('rejects unknown types and payloads of the wrong shape at compile time', () => {
    const compileOnly = () => {
      // @ts-expect-error ms must be a number
      void client.submit('sleep', { ms: 'x' });
      // @ts-expect-error ms is required
      void client.submit('sleep', {});
      // @ts-expect-error sleep takes no other field
      void client.submit('sleep', { ms: 1, extra: true });
      // @ts-expect-error no such task type
      void client.submit('nope', {});
      // @ts-expect-error diagnostic types are not in the demo task module
      void client.submit('fail', { code: 'Boom' });
      void new OffloadClient<Diagnostic>({ baseUrl: '' }).submit('fail', { code: 'Boom' });
    };
    expectTypeOf(compileOnly).toBeFunction();
  });

  it('types each result of submitMany by its own item, and checks each item’s payload', () => {
    const compileOnly = async () => {
      const [sleep, echo] = await client.submitMany([
        { type: 'sleep', payload: { ms: 5 } },
        { type: 'echo', payload: [1] },
      ]);
      if (sleep.ok) expectTypeOf(sleep.task).toEqualTypeOf<TaskHandle<{ sleptMs: number }>>();
      if (echo.ok) expectTypeOf(echo.task).toEqualTypeOf<TaskHandle<z.core.util.JSONType>>();
      // @ts-expect-error ms must be a number
      void client.submitMany([{ type: 'sleep', payload: { ms: 'x' } }]);
      // @ts-expect-error no such task type
      void client.submitMany([{ type: 'nope', payload: {} }]);
    };
    expectTypeOf(compileOnly).toBeFunction();
  });

  it('without a task module type, accepts any type name and payload, and yields unknown', () => {
    expectTypeOf<PayloadOf<TaskTypeMap, 'anything'>>().toBeUnknown();
    expectTypeOf<ResultOf<TaskTypeMap, 'anything'>>().toBeUnknown();
    const compileOnly = () => {
      const untyped = new OffloadClient({ baseUrl: 'http://127.0.0.1:3000' });
      void untyped.submit('report', { month: '2026-11' });
    };
    expectTypeOf(compileOnly).toBeFunction();
  });
});
