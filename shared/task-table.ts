import type { Task } from './task.js';

/** Key schema of the task table, shared by the CDK construct, the local stack and the adapter. */
export const TASK_TABLE = {
  partitionKey: 'taskId',
  ownerIndex: { name: 'byOwner', partitionKey: 'ownerId', sortKey: 'createdAt' },
  ttlAttribute: 'expiresAt',
} as const;

/**
 * The owner index's key of a task: what DynamoDB returns as `LastEvaluatedKey` when a listing stops
 * after that task, and so what a listing cursor holds (see functions/api/list-tasks.ts).
 */
export function ownerIndexKey(task: Pick<Task, 'taskId' | 'ownerId' | 'createdAt'>): Record<string, string> {
  const { ownerIndex, partitionKey } = TASK_TABLE;
  return {
    [partitionKey]: task.taskId,
    [ownerIndex.partitionKey]: task.ownerId,
    [ownerIndex.sortKey]: task.createdAt,
  };
}
