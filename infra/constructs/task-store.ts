import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TASK_TABLE } from '../../shared/task-table.js';
import { settings } from '../settings.js';

/** The DynamoDB table that holds every task, keyed by `taskId`, with the owner index that serves listing. */
export class TaskStore extends Construct {
  public readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    const { ownerIndex } = TASK_TABLE;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TASK_TABLE.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand({
        maxReadRequestUnits: settings.store.maxReadRequestUnitsPerSecond,
        maxWriteRequestUnits: settings.store.maxWriteRequestUnitsPerSecond,
      }),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
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
  }

  /** Grants item actions (e.g. `dynamodb:GetItem`) on the table itself, not on its indexes. */
  public grantItemActions(grantee: IGrantable, ...actions: string[]): Grant {
    return Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }

  /** Grants `dynamodb:Query` on the owner index only, which is all that listing needs. */
  public grantQueryByOwner(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${TASK_TABLE.ownerIndex.name}`],
    });
  }
}
