import { hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from './errors.js';
import type { DeploymentKey } from './ports.js';

/** Every purpose a key is derived for, one name each: two features never share a key. */
export const KEY_PURPOSES = {
  /** The keyed hash that stands in for owner ids in logs (shared/owner-hash.ts). */
  ownerHash: 'owner-hash',
  /** Signs completion callbacks: each owner's secret is an HMAC of the owner id under it (shared/callbacks/signing.ts). */
  callbackSigning: 'callback-signing',
  /** The owner's SQS message group and fair-share key (shared/owner-group.ts). */
  messageGroup: 'message-group',
} as const;

/** Fewer characters than this cannot be a key the stack generated (64 letters and digits, or 43 base64url). */
const MIN_KEY_LENGTH = 32;
/** Binds every derived key to this scheme: a new scheme gets a new salt, and keys that differ from the old. */
const SALT = 'offload deployment key v1';

/** The deployment key from its stored text, as Secrets Manager or the local key file hold it. */
export function deploymentKeyFrom(text: string): DeploymentKey {
  const material = text.trim();
  if (material.length < MIN_KEY_LENGTH) {
    throw new ConfigError(
      `The deployment key is ${material.length} characters long; expected at least ${MIN_KEY_LENGTH}.`,
    );
  }
  const derived = new Map<string, Buffer>();
  return {
    deriveKey(purpose) {
      let key = derived.get(purpose);
      if (!key) {
        key = Buffer.from(hkdfSync('sha256', material, SALT, purpose, 32));
        derived.set(purpose, key);
      }
      return key;
    },
  };
}

/** Text for a new deployment key: 256 random bits, base64url. */
export const newDeploymentKeyText = (): string => randomBytes(32).toString('base64url');
