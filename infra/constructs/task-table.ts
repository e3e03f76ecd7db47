import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  type CfnGlobalTable,
  ProjectionType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TASK_TABLE } from '../../shared/task-table.js';
import { settings as defaultSettings, type Settings } from '../settings.js';
import { grantKeyUse } from './encryption-key.js';

export interface TaskStoreProps {
  /**
   * Encrypts the table (and its backups).
   * @default the AWS managed key of DynamoDB
   */
  readonly encryptionKey?: IKey;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

/** On-demand billing under the store's ceilings, which bound every table of the stack alike. */
export const storeBilling = (settings: Settings): Billing =>
  Billing.onDemand({
    maxReadRequestUnits: settings.store.maxReadRequestUnitsPerSecond,
    maxWriteRequestUnits: settings.store.maxWriteRequestUnitsPerSecond,
  });

/**
 * Encrypts a table of the stack under a customer key, when there is one. TableEncryptionV2.customerManagedKey
 * needs the stack's region at synth (to name each replica's key); the stack is region-agnostic and has one
 * replica, so the key goes straight onto that replica.
 */
export function encryptWithKey(table: TableV2, key: IKey | undefined): void {
  if (!key) return;
  (table.node.defaultChild as CfnGlobalTable).addPropertyOverride('Replicas.0.SSESpecification', {
    KMSMasterKeyId: key.keyArn,
  });
}

/** DynamoDB actions that change items: their callers also need to encrypt under a customer key. */
const WRITE_ACTIONS = new Set([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
]);

/** The DynamoDB table that holds every task, keyed by `taskId`, with the owner index that serves listing. */
export class TaskTable extends Construct {
  public readonly table: TableV2;
  public readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: TaskStoreProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const settings = props.settings ?? defaultSettings;

    const { ownerIndex } = TASK_TABLE;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TASK_TABLE.partitionKey, type: AttributeType.STRING },
      billing: storeBilling(settings),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: true,
        recoveryPeriodInDays: settings.store.pointInTimeRecoveryDays,
      },
      timeToLiveAttribute: TASK_TABLE.ttlAttribute,
      // Tasks are user data: neither a stack deletion nor a replacement may drop them.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        {
          indexName: ownerIndex.name,
          partitionKey: { name: ownerIndex.partitionKey, type: AttributeType.STRING },
          sortKey: { name: ownerIndex.sortKey, type: AttributeType.STRING },
          // Keys only: claims, progress and completions then never write to the index (with ALL,
          // each of them did, doubling the write units per task). Listing reads the page's items.
          projectionType: ProjectionType.KEYS_ONLY,
          maxReadRequestUnits: settings.store.maxReadRequestUnitsPerSecond,
          maxWriteRequestUnits: settings.store.maxWriteRequestUnitsPerSecond,
        },
      ],
    });
    encryptWithKey(this.table, props.encryptionKey);
  }

  /** Grants item actions (e.g. `dynamodb:GetItem`) on the table itself, not on its indexes. */
  public grantItemActions(grantee: IGrantable, ...actions: string[]): Grant {
    grantKeyUse(this.encryptionKey, grantee, { write: actions.some((action) => WRITE_ACTIONS.has(action)) });
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }

  /** Grants `dynamodb:Query` on the owner index only, which is all that listing needs. */
  public grantQueryByOwner(grantee: IGrantable): Grant {
    grantKeyUse(this.encryptionKey, grantee, { write: false });
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${TASK_TABLE.ownerIndex.name}`],
    });
  }
}
