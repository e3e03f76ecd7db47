import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** What a principal needs to read data a KMS key protects, and what writing adds (explicit actions, no wildcards). */
export const KEY_ACTIONS = {
  read: ['kms:Decrypt', 'kms:DescribeKey'],
  write: [
    'kms:Encrypt',
    'kms:GenerateDataKey',
    'kms:GenerateDataKeyWithoutPlaintext',
    'kms:ReEncryptFrom',
    'kms:ReEncryptTo',
  ],
} as const;

/**
 * The customer-managed key for the stack's data at rest: task table, queues, alarm topic, log groups and
 * the deployment key secret. Rotated yearly, retained with the table it protects (a deleted key makes
 * the table and its backups unreadable). The AWS services that encrypt on their own (CloudWatch Logs,
 * CloudWatch alarms publishing to the topic) are let in only for this account and region.
 */
export class EncryptionKey extends Construct {
  public readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'offload: encrypts the task table, queues, alarm topic, logs and deployment key',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    grantCloudWatchAlarms(this.key);
  }
}

/**
 * Lets CloudWatch alarms of this account and region publish to a topic encrypted with `key`. The
 * conditions keep another account's alarms (the confused deputy) from using the grant.
 */
export function grantCloudWatchAlarms(key: IKey): void {
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisAccount',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
      },
    }),
  );
}

/**
 * Lets `grantee` send to each of `queues`: SendMessage alone (the functions have the queue URLs: neither
 * GetQueueUrl nor GetQueueAttributes, which the CDK's grantSendMessages adds), and under a customer key
 * what encrypting a message body takes.
 */
export function grantSendMessage(grantee: IGrantable, queues: readonly IQueue[]): void {
  for (const queue of queues) {
    queue.grant(grantee, 'sqs:SendMessage');
    queue.encryptionMasterKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
  }
}

/** Grants `grantee` what reading (and, with `write`, writing) data under `key` takes; nothing without a key. */
export function grantKeyUse(key: IKey | undefined, grantee: IGrantable, options: { readonly write: boolean }): void {
  if (!key) return;
  key.grant(grantee, ...KEY_ACTIONS.read, ...(options.write ? KEY_ACTIONS.write : []));
}
