import { deploymentKeyFrom } from '../deployment-key.js';
import type { DeploymentKey, KeyRing } from '../ports.js';
import { toDependencyError } from './dependency-error.js';

export interface SecretsManagerKeyRingOptions {
  /** Endpoint override (tests); undefined in AWS. */
  readonly endpoint?: string;
  /** Wraps the client once it exists, e.g. Powertools Tracer's `captureAWSv3Client`. @default as is */
  readonly instrument?: <T extends object>(client: T) => T;
}

/**
 * The deployment key from AWS Secrets Manager, fetched once per Lambda container, on first use. The
 * Secrets Manager client is imported then, not at init: a cold start that never needs the key (a
 * public route, the other functions) does not pay for loading it.
 */
export class SecretsManagerKeyRing implements KeyRing {
  #loading?: Promise<DeploymentKey>;

  constructor(
    private readonly secretId: string,
    private readonly options: SecretsManagerKeyRingOptions = {},
  ) {}

  deploymentKey(): Promise<DeploymentKey> {
    // A failed fetch is forgotten, so the next invocation tries again instead of failing for the container's life.
    this.#loading ??= this.#fetch().catch((error: unknown) => {
      this.#loading = undefined;
      throw toDependencyError('deployment key', error);
    });
    return this.#loading;
  }

  async #fetch(): Promise<DeploymentKey> {
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const instrument = this.options.instrument ?? (<T extends object>(client: T) => client);
    const client = instrument(new SecretsManagerClient({ endpoint: this.options.endpoint }));
    try {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      if (SecretString === undefined) throw new Error(`Secret ${this.secretId} holds no SecretString.`);
      return deploymentKeyFrom(SecretString);
    } finally {
      client.destroy();
    }
  }
}
