import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretsManagerKeyRing } from '../../shared/aws/secrets-manager-key-ring.js';
import { deploymentKeyFrom, KEY_PURPOSES } from '../../shared/deployment-key.js';
import { DependencyUnavailableError } from '../../shared/errors.js';

const secretsMock = mockClient(SecretsManagerClient);
afterEach(() => secretsMock.reset());

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:offload-deployment-key-AbCdEf';
const KEY_TEXT = 'Q'.repeat(64);
const sdkError = (name: string, fault: 'client' | 'server') =>
  Object.assign(new Error(`${name} from the service`), { name, $fault: fault, $metadata: {} });

describe('SecretsManagerKeyRing', () => {
  it('calls Secrets Manager only once the key is first needed, then never again', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: KEY_TEXT });
    const keyRing = new SecretsManagerKeyRing(SECRET_ARN);
    expect(secretsMock.calls()).toHaveLength(0);

    const keys = await Promise.all([keyRing.deploymentKey(), keyRing.deploymentKey()]);
    await keyRing.deploymentKey();

    expect(secretsMock.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: SECRET_ARN },
    ]);
    for (const key of keys) {
      expect(key.deriveKey(KEY_PURPOSES.ownerHash)).toEqual(
        deploymentKeyFrom(KEY_TEXT).deriveKey(KEY_PURPOSES.ownerHash),
      );
    }
  });

  it.each([
    ['throttling', sdkError('ThrottlingException', 'client')],
    ['a server fault', sdkError('InternalServiceError', 'server')],
  ])('reports %s as DependencyUnavailableError (503) and tries again on the next call', async (_case, error) => {
    secretsMock.on(GetSecretValueCommand).rejectsOnce(error).resolves({ SecretString: KEY_TEXT });
    const keyRing = new SecretsManagerKeyRing(SECRET_ARN);

    await expect(keyRing.deploymentKey()).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(keyRing.deploymentKey()).resolves.toBeDefined();
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('passes a refusal (no permission) through unchanged: a deployment fault, not an outage', async () => {
    const denied = sdkError('AccessDeniedException', 'client');
    secretsMock.on(GetSecretValueCommand).rejects(denied);

    await expect(new SecretsManagerKeyRing(SECRET_ARN).deploymentKey()).rejects.toBe(denied);
  });

  it('refuses a secret that holds no usable key', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'short' });

    await expect(new SecretsManagerKeyRing(SECRET_ARN).deploymentKey()).rejects.toThrow(/at least 32/);
  });
});
