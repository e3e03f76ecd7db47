import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../shared/aws/key-ring.js';
import { SecretsManagerKeyRing } from '../../shared/aws/secrets-manager-key-ring.js';
import type { Config } from '../../shared/config.js';
import { deploymentKeyFrom, KEY_PURPOSES, newDeploymentKeyText } from '../../shared/deployment-key.js';
import { ConfigError } from '../../shared/errors.js';
import { FileKeyRing } from '../../shared/file-key-ring.js';
import { ownerHasher } from '../../shared/owner-hash.js';

const KEY_TEXT = 'k'.repeat(64);
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'offload-key-test-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('deploymentKeyFrom', () => {
  it('derives a different 32-byte key for each purpose, the same one every time', () => {
    const key = deploymentKeyFrom(KEY_TEXT);

    const ownerHash = key.deriveKey(KEY_PURPOSES.ownerHash);

    expect(ownerHash).toHaveLength(32);
    expect(deploymentKeyFrom(KEY_TEXT).deriveKey(KEY_PURPOSES.ownerHash)).toEqual(ownerHash);
    expect(key.deriveKey('webhook-signing')).not.toEqual(ownerHash);
    expect(deploymentKeyFrom('j'.repeat(64)).deriveKey(KEY_PURPOSES.ownerHash)).not.toEqual(ownerHash);
  });

  it.each(['', 'short', ' '.repeat(40)])('refuses %j: no deployment would generate it', (text) => {
    expect(() => deploymentKeyFrom(text)).toThrow(ConfigError);
  });

  it('makes new key text of 256 random bits', () => {
    const [a, b] = [newDeploymentKeyText(), newDeploymentKeyText()];
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe('ownerHasher', () => {
  it('gives one owner one 16-hex-digit hash per deployment, and other owners other hashes', () => {
    const hash = ownerHasher(deploymentKeyFrom(KEY_TEXT));

    expect(hash('jwt:alice')).toMatch(/^[0-9a-f]{16}$/);
    expect(hash('jwt:alice')).toBe(hash('jwt:alice'));
    expect(hash('jwt:bob')).not.toBe(hash('jwt:alice'));
  });

  it('cannot be recomputed without the deployment key: not a bare SHA-256, not the same in another deployment', () => {
    const owner = 'iam:arn:aws:iam::123456789012:role/reporting';
    const bare = createHash('sha256').update(owner).digest('hex').slice(0, 16);

    const here = ownerHasher(deploymentKeyFrom(KEY_TEXT))(owner);
    const elsewhere = ownerHasher(deploymentKeyFrom('j'.repeat(64)))(owner);

    expect(here).not.toBe(bare);
    expect(here).not.toBe(elsewhere);
  });
});

describe('FileKeyRing', () => {
  it('creates the key file on first use, readable by its owner only, and keeps using it', async () => {
    const path = join(await tempDir(), 'nested', 'deployment-key');

    const first = await new FileKeyRing(path).deploymentKey();
    const again = await new FileKeyRing(path).deploymentKey();

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(again.deriveKey(KEY_PURPOSES.ownerHash)).toEqual(first.deriveKey(KEY_PURPOSES.ownerHash));
    expect((await readFile(path, 'utf8')).trim().length).toBeGreaterThanOrEqual(43);
  });

  it('ends up with one key when two processes create it at once', async () => {
    const path = join(await tempDir(), 'deployment-key');

    const [a, b] = await Promise.all([new FileKeyRing(path).deploymentKey(), new FileKeyRing(path).deploymentKey()]);

    expect(a.deriveKey(KEY_PURPOSES.ownerHash)).toEqual(b.deriveKey(KEY_PURPOSES.ownerHash));
  });

  it('uses a key file written by someone else', async () => {
    const path = join(await tempDir(), 'deployment-key');
    await writeFile(path, `${KEY_TEXT}\n`, { mode: 0o600 });

    const key = await new FileKeyRing(path).deploymentKey();

    expect(key.deriveKey(KEY_PURPOSES.ownerHash)).toEqual(
      deploymentKeyFrom(KEY_TEXT).deriveKey(KEY_PURPOSES.ownerHash),
    );
  });
});

describe('createKeyRing', () => {
  const config = (deploymentKey: Config['deploymentKey']) => ({ deploymentKey }) as Config;

  it('reads the key from Secrets Manager when given a secret ARN, from a file when given a path', () => {
    expect(createKeyRing(config({ secretArn: 'arn:aws:secretsmanager:x' }))).toBeInstanceOf(SecretsManagerKeyRing);
    expect(createKeyRing(config({ file: '/tmp/key' }))).toBeInstanceOf(FileKeyRing);
  });

  it('throws a ConfigError at init when neither is configured', () => {
    expect(() => createKeyRing(config({}))).toThrow(ConfigError);
  });
});
