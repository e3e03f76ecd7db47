import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { SCHEDULE_TABLE } from '../../shared/schedule-table.js';
import { settings as defaultSettings, type Settings } from '../settings.js';
import { grantKeyUse } from './encryption-key.js';
import { encryptWithKey, storeBilling } from './task-table.js';

export interface ScheduleStoreProps {
  /**
   * Encrypts the table (and its backups).
   * @default the AWS managed key of DynamoDB
   */
  readonly encryptionKey?: IKey;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

const WRITE_ACTIONS = new Set(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);

/**
 * The schedule table: one item per owner and schedule name (owner-scoped reads and listing are queries
 * on the partition). What a firing submits is read from here; EventBridge Scheduler holds the timing.
 */
export class ScheduleStore extends Construct {
  public readonly table: TableV2;
  public readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: ScheduleStoreProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const settings = props.settings ?? defaultSettings;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: SCHEDULE_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: SCHEDULE_TABLE.sortKey, type: AttributeType.STRING },
      billing: storeBilling(settings),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: true,
        recoveryPeriodInDays: settings.store.pointInTimeRecoveryDays,
      },
      // The owners' schedules are user data, as the tasks are.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    encryptWithKey(this.table, props.encryptionKey);
  }

  /** Grants item actions (e.g. `dynamodb:GetItem`, `dynamodb:Query`) on the table. */
  public grantItemActions(grantee: IGrantable, ...actions: string[]): Grant {
    grantKeyUse(this.encryptionKey, grantee, { write: actions.some((action) => WRITE_ACTIONS.has(action)) });
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }
}
