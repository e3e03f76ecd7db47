import { Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface DeploymentKeyProps {
  /**
   * Encrypts the secret.
   * @default the AWS managed key of Secrets Manager
   */
  readonly encryptionKey?: IKey;
}

/**
 * The deployment's one random key (shared/deployment-key.ts derives a key per purpose from it). CloudFormation
 * generates it inside Secrets Manager, so its value appears in no template, no environment variable and
 * no CDK output; functions get the secret's ARN and read it at run time.
 */
export class DeploymentKey extends Construct {
  public readonly secret: Secret;

  constructor(scope: Construct, id: string, props: DeploymentKeyProps = {}) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'offload deployment key: keyed owner hashes in logs, and keys derived for later features',
      // 64 letters and digits: about 380 random bits, and no character that needs escaping anywhere.
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      encryptionKey: props.encryptionKey,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the deployment key changes every key derived from it (the owner hash in logs stops matching ' +
        'earlier lines): an operator decision, done by putting a new value, not a schedule.',
    });
  }

  /** Lets `grantee` read the key: GetSecretValue on this secret only (and decrypt, under a customer key). */
  public grantRead(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.secret.secretArn],
    });
    this.secret.encryptionKey?.grantDecrypt(grantee);
  }
}
