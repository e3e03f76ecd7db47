import type { CallCounts } from './sdk-counter.js';
import { round } from './stats.js';

/** Request counts only (not the derived tallies of received messages and empty receives). */
export function sumRequests(counts: CallCounts): number {
  return Object.entries(counts)
    .filter(([key]) => !key.includes('ReceivedMessages') && !key.includes('(empty)'))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Per task, by `service operation`: the handlers' calls and the mapping's calls on the tasks queue. */
export function perTask(counts: CallCounts, tasks: number) {
  const byOperation: Record<string, number> = {};
  const add = (name: string, n: number) => {
    byOperation[name] = round((byOperation[name] ?? 0) + n / tasks, 4);
  };
  let emptyReceives = 0;
  let pollerReceives = 0;
  for (const [key, n] of Object.entries(counts)) {
    const [origin, service, operation, queue] = key.split(' ');
    if (origin === 'function') add(`${service} ${operation}`, n);
    if (origin !== 'local-stack' || queue !== 'offload-tasks') continue;
    if (operation === 'ReceiveMessage(empty)') emptyReceives += n;
    else if (operation === 'ReceiveMessage') pollerReceives += n;
    else if (operation === 'DeleteMessageBatch') add('SQS DeleteMessageBatch', n);
  }
  add('SQS ReceiveMessage', pollerReceives - emptyReceives);
  const total = round(
    Object.values(byOperation).reduce((sum, n) => sum + n, 0),
    3,
  );
  return {
    total,
    byOperation,
    /** Receives that returned nothing (fauxqs wakes every waiting long poll for each message; AWS does not). */
    emptyReceivesPerTask: round(emptyReceives / tasks, 3),
    workerInvocationsPerTask: round((pollerReceives - emptyReceives) / tasks, 4),
    tasks,
  };
}
