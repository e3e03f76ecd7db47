import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { LOCAL_DIR, makeLocalDir } from './state-file.js';

/** What the local authorizer requires of a token, as an API Gateway JWT authorizer's issuer and audience. */
export const DEV_TOKEN_ISSUER = 'offload-local';
export const DEV_TOKEN_AUDIENCE = 'offload-api';
/** API Gateway JWT authorizers accept RSA signatures only: the dev key is RSA too. */
export const DEV_TOKEN_ALGORITHM = 'RS256';
/** How long the tokens of `offload dev` and `offload token` stay valid unless told otherwise. */
export const DEV_TOKEN_LIFETIME = '12h';

/** The local stack's signing key: the private half signs dev tokens, the public half verifies them. */
export interface DevKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

const KEY_FILE = 'dev-key.json';

/**
 * Where `offload dev` and `offload token` keep the key: in the data dir when there is one (the key
 * lives as long as the tasks it owns), else in the project's `.offload/` (the working directory's;
 * keep it out of version control).
 */
export function devKeyPath(dataDir?: string): string {
  return dataDir ? join(dataDir, KEY_FILE) : resolve(LOCAL_DIR, KEY_FILE);
}

/**
 * Where the local stack keeps its deployment key (the stand-in for the Secrets Manager secret, see
 * shared/file-key-ring.ts): next to the dev key, so it lives as long as the tasks and logs it hashes.
 */
export function deploymentKeyPath(dataDir?: string): string {
  return join(dirname(devKeyPath(dataDir)), 'deployment-key');
}

export async function generateDevKey(): Promise<DevKey> {
  const { privateKey } = await generateKeyPair(DEV_TOKEN_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return fromPrivateJwk({ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: DEV_TOKEN_ALGORITHM });
}

/**
 * Reads the key file, or creates it (owner-only permissions) when there is none. Creation is
 * exclusive, so `offload dev` and `offload token` racing on a fresh checkout end up with one key.
 */
export async function loadOrCreateDevKey(path: string): Promise<DevKey> {
  try {
    return fromPrivateJwk(JSON.parse(await readFile(path, 'utf8')) as JWK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = await generateDevKey();
  await makeLocalDir(path);
  try {
    await writeFile(path, `${JSON.stringify(key.privateJwk, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return fromPrivateJwk(JSON.parse(await readFile(path, 'utf8')) as JWK);
  }
}

function fromPrivateJwk(privateJwk: JWK): DevKey {
  if (privateJwk.kty !== 'RSA' || !privateJwk.d || !privateJwk.kid) {
    throw new Error('The dev key file does not hold an RSA private JWK with a kid; delete it to get a new one.');
  }
  const { kty, n, e, kid, alg } = privateJwk;
  return { kid, privateJwk, publicJwk: { kty, n, e, kid, alg, use: 'sig' } };
}

export interface DevTokenOptions {
  readonly sub: string;
  /** A jose time span (`'12h'`) or an epoch second. @default DEV_TOKEN_LIFETIME */
  readonly expiresAt?: string | number;
  /** Tests use these to forge tokens the authorizer must refuse. */
  readonly issuer?: string;
  readonly audience?: string;
  /** Space-separated OAuth scopes, passed on as the `scope` claim. */
  readonly scope?: string;
}

/** A token the local authorizer accepts, shaped like an identity provider's access token. */
export async function mintDevToken(key: DevKey, options: DevTokenOptions): Promise<string> {
  const signingKey = await importJWK(key.privateJwk, DEV_TOKEN_ALGORITHM);
  return new SignJWT({ ...(options.scope && { scope: options.scope }) })
    .setProtectedHeader({ alg: DEV_TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuer(options.issuer ?? DEV_TOKEN_ISSUER)
    .setAudience(options.audience ?? DEV_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? DEV_TOKEN_LIFETIME)
    .sign(signingKey);
}
