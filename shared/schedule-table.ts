/** Key schema of the schedule table, shared by the CDK construct, the local stack and the adapter. */
export const SCHEDULE_TABLE = {
  partitionKey: 'ownerId',
  sortKey: 'name',
} as const;
