import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { captureEmf, type EmfEvent, parseEmfLine } from '../../infra/local/emf-capture.js';

const emf = (values: Record<string, unknown>, dimensions: string[][] = [['service', 'TaskType']]) =>
  JSON.stringify({
    _aws: {
      Timestamp: 1_700_000_000_000,
      CloudWatchMetrics: [
        {
          Namespace: 'Offload',
          Dimensions: dimensions,
          Metrics: [
            { Name: 'TaskStarted', Unit: 'Count' },
            { Name: 'TaskDurationMs', Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    service: 'offload',
    TaskType: 'echo',
    ...values,
  });

/** A stream standing in for process.stdout that keeps what reaches the terminal. */
function terminal() {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('parseEmfLine', () => {
  it('reads namespace, dimensions and every value of each metric', () => {
    expect(parseEmfLine(emf({ TaskStarted: 1, TaskDurationMs: [12, 30] }))).toEqual([
      {
        timestamp: 1_700_000_000_000,
        namespace: 'Offload',
        dimensions: { service: 'offload', TaskType: 'echo' },
        metrics: [
          { name: 'TaskStarted', unit: 'Count', values: [1] },
          { name: 'TaskDurationMs', unit: 'Milliseconds', values: [12, 30] },
        ],
      },
    ]);
  });

  it('keeps only the dimensions the document declares', () => {
    const [event] = parseEmfLine(emf({ TaskStarted: 1 }, [['service']])) ?? [];
    expect(event?.dimensions).toEqual({ service: 'offload' });
  });

  it.each([
    ['a log line', '{"level":"INFO","message":"task started","taskId":"t"}'],
    ['plain text', 'offload local stack listening on http://127.0.0.1:3000'],
    ['broken JSON', '{"_aws": {'],
    ['no metric directives', '{"_aws":{"Timestamp":1}}'],
  ])('ignores %s', (_case, line) => {
    expect(parseEmfLine(line)).toBeUndefined();
  });
});

describe('captureEmf', () => {
  it('takes EMF lines off the stream and leaves every other line on it', () => {
    const { stream, written } = terminal();
    const events: EmfEvent[] = [];
    const release = captureEmf((parsed) => events.push(...parsed), stream);

    stream.write(`${emf({ TaskStarted: 1 })}\n`);
    stream.write('{"level":"WARN","message":"stale attempt"}\n');
    stream.write(`${emf({ TaskStarted: 2 })}\nafter\n`);
    release();
    stream.write(`${emf({ TaskStarted: 3 })}\n`);

    expect(events.map((event) => event.metrics[0]?.values)).toEqual([[1], [2]]);
    expect(written).toEqual([
      '{"level":"WARN","message":"stale attempt"}\n',
      'after\n',
      `${emf({ TaskStarted: 3 })}\n`,
    ]);
  });

  it('takes EMF documents logged with console.log, where the console does not reach the stream', () => {
    const { stream } = terminal();
    const logged: unknown[][] = [];
    const target = { log: (...args: unknown[]) => void logged.push(args) };
    const events: EmfEvent[] = [];
    const release = captureEmf((parsed) => events.push(...parsed), stream, target);

    target.log(emf({ TaskStarted: 1 }));
    target.log('task started', { taskId: 't' });
    release();
    target.log(emf({ TaskStarted: 2 }));

    expect(events.map((event) => event.metrics[0]?.values)).toEqual([[1]]);
    expect(logged).toEqual([['task started', { taskId: 't' }], [emf({ TaskStarted: 2 })]]);
  });

  it('still calls the write callback of a line it took, once', () => {
    const { stream } = terminal();
    const release = captureEmf(() => {}, stream);
    let calls = 0;

    stream.write(`${emf({ TaskStarted: 1 })}\n`, () => calls++);
    release();

    // Called at once, in the write: a writer that waits for it must not hang.
    expect(calls).toBe(1);
  });
});
