import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deploymentKeyFrom, newDeploymentKeyText } from './deployment-key.js';
import type { DeploymentKey, KeyRing } from './ports.js';

/**
 * The local stack's deployment key: a file created on first use with owner-only permissions (exclusive
 * create, so two processes starting at once end up with one key), read once per process afterwards.
 */
export class FileKeyRing implements KeyRing {
  #loading?: Promise<DeploymentKey>;

  constructor(private readonly path: string) {}

  deploymentKey(): Promise<DeploymentKey> {
    this.#loading ??= this.#load().catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  async #load(): Promise<DeploymentKey> {
    try {
      return deploymentKeyFrom(await readFile(this.path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await mkdir(dirname(this.path), { recursive: true });
    try {
      const text = newDeploymentKeyText();
      await writeFile(this.path, `${text}\n`, { flag: 'wx', mode: 0o600 });
      return deploymentKeyFrom(text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return deploymentKeyFrom(await readFile(this.path, 'utf8'));
    }
  }
}
