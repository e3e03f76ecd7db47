import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { TaskRegistry } from '../../functions/tasks/define-task.js';
import { FAIR_SHARE_TABLE } from '../../shared/fair-share.js';
import { settings as defaultSettings, type Settings } from '../settings.js';
import { grantKeyUse } from './encryption-key.js';
import { encryptWithKey, storeBilling } from './task-table.js';

export interface FairShareTableProps {
  /**
   * Encrypts the table (and its backups).
   * @default the AWS managed key of DynamoDB
   */
  readonly encryptionKey?: IKey;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

/**
 * The per-owner limits' state (settings.fairness): concurrency slots (one small item per owner, a lease
 * per running task, and one item per waiting task beside it) and submit rate windows (one counter per owner
 * and window). Items are keyed by the owner's group, never the owner id, and expire by TTL a day after their
 * last lease or wait, an hour after their window. Nothing here is user data that must outlive the stack:
 * the table goes with it.
 */
export class FairShareTable extends Construct {
  public readonly table: TableV2;
  public readonly encryptionKey?: IKey;

  /** Whether a deployment needs the table: a per-owner limit is on, or a task type has a limit of its own. */
  static isNeeded(settings: Settings, registry: TaskRegistry): boolean {
    return FairShareTable.limitsConcurrency(settings, registry) || settings.fairness.submitRate.enabled;
  }

  /** Whether the worker limits concurrency: the deployment-wide limit is on, or a type has its own. */
  static limitsConcurrency(settings: Settings, registry: TaskRegistry): boolean {
    return (
      settings.fairness.ownerConcurrency.enabled ||
      [...registry.values()].some((definition) => definition.maxRunningPerOwner !== undefined)
    );
  }

  constructor(scope: Construct, id: string, props: FairShareTableProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const settings = props.settings ?? defaultSettings;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: FAIR_SHARE_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: FAIR_SHARE_TABLE.sortKey, type: AttributeType.STRING },
      // Every submit (rate limit) and every attempt (slots) writes here: the task table's ceilings bound it alike.
      billing: storeBilling(settings),
      encryption: TableEncryptionV2.awsManagedKey(),
      // The state is rebuilt by use within a lease or a window; a day of recovery is plenty.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 1 },
      timeToLiveAttribute: FAIR_SHARE_TABLE.ttlAttribute,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    encryptWithKey(this.table, props.encryptionKey);
  }

  /**
   * What the worker's slots use: conditional UpdateItems of the slots (GetItem where a refused write's old
   * item does not come back with it), PutItem and DeleteItem of waiters, a Query for the oldest waiter.
   */
  public grantSlots(grantee: IGrantable): Grant {
    return this.grant(
      grantee,
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    );
  }

  /** What the API's submit rate windows use: a conditional UpdateItem, GetItem as above. */
  public grantRateWindows(grantee: IGrantable): Grant {
    return this.grant(grantee, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
  }

  private grant(grantee: IGrantable, ...actions: string[]): Grant {
    grantKeyUse(this.encryptionKey, grantee, { write: true });
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }
}
