import { createHmac } from 'node:crypto';
import { KEY_PURPOSES } from '../deployment-key.js';
import type { DeploymentKey } from '../ports.js';

/** Standard Webhooks' prefix of a signing secret: `whsec_` and the key in base64. */
const SECRET_PREFIX = 'whsec_';

/**
 * The signing key of one owner for one key version: HMAC-SHA256(owner id) under the key the deployment key
 * derives for `callback-signing` and that version. Nothing is stored: every function that holds the
 * deployment key computes the same secret, and a new version (settings.callbacks.signingKeyVersions) gives
 * every owner a new one without touching the deployment key (whose other uses, the owner hash, stay put).
 */
export function ownerSigningKey(deploymentKey: DeploymentKey, ownerId: string, version: number): Buffer {
  const purpose = version === 1 ? KEY_PURPOSES.callbackSigning : `${KEY_PURPOSES.callbackSigning}/v${version}`;
  return createHmac('sha256', deploymentKey.deriveKey(purpose)).update(ownerId).digest();
}

/** The secret as receivers configure it: `whsec_<base64>`. */
export const formatSecret = (key: Buffer): string => `${SECRET_PREFIX}${key.toString('base64')}`;

/**
 * The keys an owner's callbacks are signed with, the current one first. During a rotation
 * (`signingKeyVersions` = `[new, old]`) both sign, so a receiver still configured with the old secret
 * keeps verifying until it switches; `GET /callbacks/secret` hands out the first.
 */
export function ownerSigningKeys(deploymentKey: DeploymentKey, ownerId: string, versions: readonly number[]): Buffer[] {
  return versions.map((version) => ownerSigningKey(deploymentKey, ownerId, version));
}

/** One Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`. */
export function signature(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The `webhook-signature` header: one signature per key, separated by spaces. */
export const signatureHeader = (keys: readonly Buffer[], id: string, timestampSeconds: number, body: string): string =>
  keys.map((key) => signature(key, id, timestampSeconds, body)).join(' ');
