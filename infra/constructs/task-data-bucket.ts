import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { settings as defaultSettings, type Settings, taskDataLifecycle } from '../settings.js';
import { grantKeyUse } from './encryption-key.js';

export interface TaskDataBucketProps {
  /**
   * Encrypts the objects (SSE-KMS with an S3 Bucket Key, so KMS is called per object and not per request).
   * @default SSE-S3, S3's own keys
   */
  readonly encryptionKey?: IKey;
  /** @default infra/settings.ts */
  readonly settings?: Settings;
}

/**
 * The bucket for task data too large for a task's item: payloads, results, artifacts (the claim-check
 * pattern). Private (all public access blocked, no ACLs: the bucket owner owns every object), TLS only,
 * encrypted, and every object expires with the task TTL (settings.tasks.ttlDays), so nothing a failed
 * or abandoned upload leaves stays for long. Objects are reached through the functions' roles and the
 * short-lived presigned URLs they mint, which act with those roles' permissions.
 */
export class TaskDataBucket extends Construct {
  public readonly bucket: Bucket;
  public readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: TaskDataBucketProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const lifecycle = taskDataLifecycle(props.settings ?? defaultSettings);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      ...(props.encryptionKey
        ? { encryption: BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: BucketEncryption.S3_MANAGED }),
      lifecycleRules: [
        {
          id: 'expire-with-the-tasks',
          expiration: Duration.days(lifecycle.expirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(lifecycle.abortIncompleteUploadDays),
        },
      ],
      // Task data is user data, as the table's items are: a stack deletion must not drop it (it expires anyway).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would keep every object key (owner hash, task id) and requester longer than the data ' +
        'itself lives (ttlDays); the API access log records who asked for each URL, and CloudTrail S3 data ' +
        'events can be turned on where an audit needs every GET and PUT.',
    });
  }

  /**
   * Lets `grantee` read task data objects and list the bucket (a missing key is then 404, not 403): enough
   * to sign presigned GETs, as the callback delivery does for the links in its event.
   */
  public grantRead(grantee: IGrantable): Grant {
    grantKeyUse(this.encryptionKey, grantee, { write: false });
    Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
    this.acknowledgeObjectWildcard(grantee);
    return Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.bucket.arnForObjects('*')] });
  }

  /**
   * Lets `grantee` read, write and delete task data objects (GetObject also serves HeadObject and the
   * presigned GETs it signs, PutObject the presigned PUTs) and list the bucket, without which S3 answers
   * a missing key with 403 instead of 404. Object keys are per owner and per task, made at run time,
   * hence `bucket/*`.
   */
  public grantReadWriteDelete(grantee: IGrantable): Grant {
    grantKeyUse(this.encryptionKey, grantee, { write: true });
    Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
    this.acknowledgeObjectWildcard(grantee);
    return Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resourceArns: [this.bucket.arnForObjects('*')],
    });
  }

  private acknowledgeObjectWildcard(grantee: IGrantable): void {
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      reason:
        'Task data keys are <ownerHash>/<task or upload id>/…, made per request at run time: no narrower ' +
        'resource can name them. The actions are at most Get, Put and Delete of objects in this one bucket.',
    });
  }
}
