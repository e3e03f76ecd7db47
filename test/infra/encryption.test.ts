import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { constructPathsByLogicalId, logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

const cloudWatchAlarmsStatement = Match.objectLike({
  Principal: { Service: 'cloudwatch.amazonaws.com' },
  Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
  Condition: {
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    ArnLike: {
      'aws:SourceArn': {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':cloudwatch:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':alarm:*',
          ],
        ],
      },
    },
  },
});

describe('by default (AWS managed keys)', () => {
  const { stack, template } = synthOffloadStack();
  const id = (path: string) => logicalIdOf(stack, path);

  it('encrypts the table with the AWS managed key and the queues with SSE-SQS', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    const [replica] = template.toJSON().Resources[id('TaskStore/Table')].Properties.Replicas;
    expect(replica.SSESpecification).toBeUndefined();
    for (const queue of Object.values(template.findResources('AWS::SQS::Queue'))) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  it('lets only CloudWatch alarms of this account and region use the alarm topic’s key', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([cloudWatchAlarmsStatement]) },
    });
    const statements = Object.values(template.findResources('AWS::KMS::Key')).flatMap(
      (key) => key.Properties.KeyPolicy.Statement as Array<{ Principal?: { Service?: string }; Condition?: unknown }>,
    );
    for (const statement of statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com')) {
      expect(statement.Condition).toBeDefined();
    }
  });
});

describe('with -c customerManagedKey=true', () => {
  const { stack, template } = synthOffloadStack({ context: { customerManagedKey: 'true' } });
  const id = (path: string) => logicalIdOf(stack, path);
  const paths = constructPathsByLogicalId(stack);
  const resources = template.toJSON().Resources as Resources;
  const keyArn = () => ({ 'Fn::GetAtt': [id('EncryptionKey/Key'), 'Arn'] });

  it('makes one rotated key, kept when the stack goes, as the table it protects is', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });

  it('encrypts the table, every queue, the alarm topic, the deployment key and every log group with it', () => {
    expect(resources[id('TaskStore/Table')]?.Properties.Replicas).toEqual([
      expect.objectContaining({ SSESpecification: { KMSMasterKeyId: keyArn() } }),
    ]);
    expect(resources[id('ScheduleStore/Table')]?.Properties.Replicas).toEqual([
      expect.objectContaining({ SSESpecification: { KMSMasterKeyId: keyArn() } }),
    ]);
    for (const path of [
      'TaskQueue/Queue',
      'TaskQueue/HighPriorityQueue',
      'TaskQueue/DeadLetterQueue',
      'Lane-long/TaskQueue/Queue',
      'Lane-long/TaskQueue/HighPriorityQueue',
      'Lane-long/TaskQueue/DeadLetterQueue',
      'Callbacks/Queue',
      'Callbacks/DeadLetterQueue',
      'TaskScheduler/DeadLetterQueue',
    ]) {
      expect(resources[id(path)]?.Properties).toMatchObject({ KmsMasterKeyId: keyArn() });
      expect(resources[id(path)]?.Properties.SqsManagedSseEnabled).toBeUndefined();
    }
    expect(resources[id('Operations/AlarmTopic')]?.Properties.KmsMasterKeyId).toEqual(keyArn());
    expect(resources[id('DeploymentKey/Secret')]?.Properties.KmsKeyId).toEqual(keyArn());
    const logGroups = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Logs::LogGroup');
    expect(logGroups.map(([logicalId]) => paths.get(logicalId)).sort()).toEqual(
      [
        'TaskApi/AccessLogs',
        'TaskApi/LogGroup',
        'TaskWorker/LogGroup',
        'Lane-long/TaskWorker/LogGroup',
        'DeadLetterHandler/LogGroup',
        'RecoverySweep/LogGroup',
        'Callbacks/LogGroup',
        'TaskScheduler/LogGroup',
      ].sort(),
    );
    for (const [, logGroup] of logGroups) expect(logGroup.Properties.KmsKeyId).toEqual(keyArn());
  });

  it('lets CloudWatch Logs use the key only for log groups of this account and region', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':logs:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':log-group:*',
                    ],
                  ],
                },
              },
            },
          }),
          cloudWatchAlarmsStatement,
        ]),
      },
    });
  });

  /** The KMS actions a function's role may take on the key. */
  const keyActionsOf = (owner: string): string[] => {
    const roleId = id(`${owner}/Role`);
    return Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
      .flatMap(
        (policy) => (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement,
      )
      .flatMap((statement) => [statement.Action].flat())
      .filter((action) => action.startsWith('kms:'))
      .sort();
  };

  it.each([
    // Writes the table, sends to the queue, reads the deployment key.
    ['TaskApi', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']],
    // Writes the table, consumes the queue.
    ['TaskWorker', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']],
    ['DeadLetterHandler', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']],
    // Reads the table, sends to the queue.
    ['RecoverySweep', ['kms:Decrypt', 'kms:GenerateDataKey']],
  ])('lets the %s role use the key for what it does, with no wildcard action', (owner, expected) => {
    const actions = keyActionsOf(owner);
    for (const action of expected) expect(actions).toContain(action);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('does not let the recovery sweep, which only reads the table, encrypt with the key', () => {
    expect(keyActionsOf('RecoverySweep')).not.toContain('kms:Encrypt');
  });
});
