/** Key schema of the task table, shared by the CDK construct, the local stack and the adapter. */
export const TASK_TABLE = {
  partitionKey: 'taskId',
  ownerIndex: { name: 'byOwner', partitionKey: 'ownerId', sortKey: 'createdAt' },
  ttlAttribute: 'expiresAt',
} as const;
