import { createHmac } from 'node:crypto';
import { KEY_PURPOSES } from './deployment-key.js';
import type { DeploymentKey } from './ports.js';

/** A stand-in for an owner id in logs: stable for one owner within a deployment, useless to anyone else. */
export type OwnerHash = (ownerId: string) => string;

/**
 * HMAC-SHA256 of the owner id under a key derived from the deployment key, truncated to 64 bits (enough
 * to tell owners apart). Keyed, because owner ids are guessable (IAM role ARNs, e-mail-like subjects): a
 * bare SHA-256 lets anyone who reads the logs confirm a guess; this needs the deployment key.
 */
export function ownerHasher(key: DeploymentKey): OwnerHash {
  const hashKey = key.deriveKey(KEY_PURPOSES.ownerHash);
  return (ownerId) => createHmac('sha256', hashKey).update(ownerId).digest('hex').slice(0, 16);
}
