import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { settings } from '../../infra/settings.js';
import { logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

describe('task data bucket', () => {
  const { stack, template } = synthOffloadStack();
  const bucketId = logicalIdOf(stack, 'TaskData/Bucket');
  const bucket = () => template.toJSON().Resources[bucketId];

  it('is private: all public access blocked and no ACLs (the bucket owner owns every object)', () => {
    expect(bucket().Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('refuses every request without TLS 1.2', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('encrypts with S3’s own keys by default', () => {
    expect(bucket().Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('expires every object with the task TTL and drops incomplete uploads after a day', () => {
    expect(bucket().Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'expire-with-the-tasks',
          Status: 'Enabled',
          ExpirationInDays: settings.tasks.ttlDays,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  it('outlives the stack, as the table does', () => {
    expect(bucket().DeletionPolicy).toBe('Retain');
  });

  it('is named in the outputs', () => {
    template.hasOutput('TaskDataBucketName', { Value: { Ref: bucketId } });
  });
});

describe('task data bucket under a customer-managed key', () => {
  const { stack, template } = synthOffloadStack({ context: { customerManagedKey: 'true' } });
  const bucketId = logicalIdOf(stack, 'TaskData/Bucket');

  it('encrypts with that key and an S3 Bucket Key', () => {
    expect(template.toJSON().Resources[bucketId].Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [logicalIdOf(stack, 'EncryptionKey/Key'), 'Arn'] },
          },
        },
      ],
    });
  });
});
