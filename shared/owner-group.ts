import { createHmac } from 'node:crypto';
import { KEY_PURPOSES } from './deployment-key.js';
import type { DeploymentKey } from './ports.js';

/** The owner's group: stable for one owner within a deployment, meaningless to anyone without its key. */
export type OwnerGroup = (ownerId: string) => string;

/**
 * HMAC-SHA256 of the owner id under a key derived for this purpose alone, 128 bits in hex. It is what
 * SQS sees as MessageGroupId (fair queues tell tenants apart by it, and it shows in SQS metrics and
 * consoles) and what keys the owner's fair-share state, so the raw owner id (a user identity) reaches
 * neither. A key of its own: a group id does not confirm the `ownerHash` of the logs, nor the reverse.
 */
export function ownerGrouper(key: DeploymentKey): OwnerGroup {
  const groupKey = key.deriveKey(KEY_PURPOSES.messageGroup);
  return (ownerId) => createHmac('sha256', groupKey).update(ownerId).digest('hex').slice(0, 32);
}
