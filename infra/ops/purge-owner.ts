import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoScheduleStore } from '../../shared/aws/dynamo-schedule-store.js';
import { SecretsManagerKeyRing } from '../../shared/aws/secrets-manager-key-ring.js';
import { FileKeyRing } from '../../shared/file-key-ring.js';
import { ownerHasher } from '../../shared/owner-hash.js';
import { isOwnerIdShaped, OWNER_ID_FORMS } from '../../shared/owner-id.js';
import type { KeyRing } from '../../shared/ports.js';
import { readLocalState } from '../local/state-file.js';
import { purgeOwnerObjects } from './purge-owner-objects.js';
import { purgeOwnerSchedules, type ScheduleDeleter } from './purge-owner-schedules.js';
import { purgeOwnerTasks } from './purge-owner-tasks.js';

const usage = `Usage: npm run purge-owner -- (--local | --table NAME [--bucket NAME --secret-arn ARN] [--schedule-table NAME --schedule-group NAME]) --owner OWNER [--owner OWNER ...] [--dry-run]

Deletes every task of an owner from the task table now, instead of when DynamoDB's TTL gets to them (an
erasure request); with the bucket every object of theirs from the task data bucket (payloads, results,
files), instead of when its lifecycle rule does; with the schedule table every recurring schedule of theirs,
in Scheduler and in the table (--local: all three). OWNER is the owner id as the API derives it: ${OWNER_ID_FORMS}. Revoke the owner's access first: tasks submitted during the purge are not covered.
Deleted items stay in point-in-time recovery backups for the table's recovery period (README "Retention").

  --local       the stack started by npm start on this machine (table, bucket and schedules)
  --table       a deployed stack: the TableName output of cdk deploy
                (credentials and region from the usual AWS environment; needs dynamodb:Query on the
                owner index and dynamodb:BatchWriteItem on the table)
  --bucket      its TaskDataBucketName output (needs s3:ListBucket and s3:DeleteObject), with
  --secret-arn  its DeploymentKeySecretArn output: object keys start with the owner's keyed hash
                (needs secretsmanager:GetSecretValue)
  --schedule-table  its ScheduleTableName output (needs dynamodb:Query and DeleteItem), with
  --schedule-group  its ScheduleGroupName output: each of the owner's recurring schedules is deleted from
                Scheduler first (needs scheduler:DeleteSchedule), then its record
  --owner       an owner id (repeatable)
  --dry-run     list the tasks, objects and schedules that would be deleted, delete nothing`;

const { values } = parseArgs({
  options: {
    local: { type: 'boolean', default: false },
    table: { type: 'string' },
    bucket: { type: 'string' },
    'secret-arn': { type: 'string' },
    'schedule-table': { type: 'string' },
    'schedule-group': { type: 'string' },
    owner: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const owners = values.owner ?? [];
if (
  values.help ||
  values.local === Boolean(values.table) ||
  owners.length === 0 ||
  Boolean(values.bucket) !== Boolean(values['secret-arn']) ||
  Boolean(values['schedule-table']) !== Boolean(values['schedule-group']) ||
  (values.local && Boolean(values.bucket || values['schedule-table']))
) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const malformed = owners.filter((owner) => !isOwnerIdShaped(owner));
if (malformed.length > 0) {
  console.error(`Owner ids look like ${OWNER_ID_FORMS}; got: ${malformed.join(', ')}`);
  process.exit(2);
}

// The emulators accept any credentials; these keep the SDK from looking for real ones.
const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Target {
  readonly tableName: string;
  readonly dynamodb: DynamoDBClient;
  readonly objects?: { readonly bucket: string; readonly s3: S3Client; readonly keyRing: KeyRing };
  readonly schedules?: { readonly tableName: string; readonly groupName: string; readonly scheduler: SchedulerClient };
}

/** Deletes a schedule of `groupName` by name; one already gone is fine. */
function scheduleDeleter({ groupName, scheduler }: NonNullable<Target['schedules']>): ScheduleDeleter {
  return {
    async delete(name) {
      try {
        await scheduler.send(new DeleteScheduleCommand({ Name: name, GroupName: groupName }));
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      }
    },
  };
}

const target: Target = values.local
  ? await readLocalState().then((state) => ({
      tableName: state.tableName,
      dynamodb: new DynamoDBClient({ region: state.region, endpoint: state.endpoints.dynamodb, credentials: LOCAL }),
      ...(state.taskDataBucket &&
        state.endpoints.s3 &&
        state.deploymentKeyFile && {
          objects: {
            bucket: state.taskDataBucket,
            s3: new S3Client({
              region: state.region,
              endpoint: state.endpoints.s3,
              forcePathStyle: true,
              credentials: LOCAL,
            }),
            keyRing: new FileKeyRing(state.deploymentKeyFile),
          },
        }),
      ...(state.scheduleTableName &&
        state.scheduleGroupName &&
        state.endpoints.scheduler && {
          schedules: {
            tableName: state.scheduleTableName,
            groupName: state.scheduleGroupName,
            scheduler: new SchedulerClient({
              region: state.region,
              endpoint: state.endpoints.scheduler,
              credentials: LOCAL,
            }),
          },
        }),
    }))
  : {
      tableName: values.table ?? '',
      dynamodb: new DynamoDBClient({}),
      ...(values.bucket && {
        objects: {
          bucket: values.bucket,
          s3: new S3Client({}),
          keyRing: new SecretsManagerKeyRing(values['secret-arn'] ?? ''),
        },
      }),
      ...(values['schedule-table'] && {
        schedules: {
          tableName: values['schedule-table'],
          groupName: values['schedule-group'] ?? '',
          scheduler: new SchedulerClient({}),
        },
      }),
    };
if (!target.objects) {
  console.error('No task data bucket given: the owner’s objects stay until the bucket’s lifecycle rule expires them.');
}
if (!target.schedules) {
  console.error('No schedule table given: the owner’s recurring schedules stay, and go on submitting tasks.');
}

const documents = DynamoDBDocumentClient.from(target.dynamodb);
const dryRun = values['dry-run'];
try {
  for (const owner of owners) {
    const taskIds = await purgeOwnerTasks(documents, target.tableName, owner, {
      dryRun,
      onPage: (ids) => {
        for (const taskId of ids) console.log(taskId);
      },
    });
    console.error(`${dryRun ? 'would delete' : 'deleted'} ${taskIds.length} task(s) of ${owner}`);
    if (target.objects) {
      const hash = ownerHasher(await target.objects.keyRing.deploymentKey())(owner);
      const keys = await purgeOwnerObjects(target.objects.s3, target.objects.bucket, hash, {
        dryRun,
        onPage: (found) => {
          for (const key of found) console.log(key);
        },
      });
      console.error(`${dryRun ? 'would delete' : 'deleted'} ${keys.length} object(s) of ${owner} (${hash}/)`);
    }
    if (target.schedules) {
      const store = new DynamoScheduleStore(documents, target.schedules.tableName);
      const names = await purgeOwnerSchedules(store, scheduleDeleter(target.schedules), owner, {
        dryRun,
        onSchedule: (name) => console.log(`schedule ${name}`),
      });
      console.error(`${dryRun ? 'would delete' : 'deleted'} ${names.length} schedule(s) of ${owner}`);
    }
  }
} finally {
  target.dynamodb.destroy();
  target.objects?.s3.destroy();
  target.schedules?.scheduler.destroy();
}
