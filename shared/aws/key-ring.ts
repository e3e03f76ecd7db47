import type { Config } from '../config.js';
import { ENV } from '../env-names.js';
import { ConfigError } from '../errors.js';
import { FileKeyRing } from '../file-key-ring.js';
import type { KeyRing } from '../ports.js';
import { SecretsManagerKeyRing, type SecretsManagerKeyRingOptions } from './secrets-manager-key-ring.js';

/**
 * The key ring the configuration names: the Secrets Manager secret in AWS, the key file locally. No I/O
 * here: the key is loaded on first use. Throws ConfigError when neither is configured, at init.
 */
export function createKeyRing(config: Config, options: SecretsManagerKeyRingOptions = {}): KeyRing {
  const { secretArn, file } = config.deploymentKey;
  if (secretArn) return new SecretsManagerKeyRing(secretArn, options);
  if (file) return new FileKeyRing(file);
  throw new ConfigError(
    `No deployment key: set ${ENV.deploymentKeySecretArn} (AWS) or ${ENV.deploymentKeyFile} (local).`,
  );
}
