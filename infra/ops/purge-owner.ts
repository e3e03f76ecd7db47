import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readLocalState } from '../local/state-file.js';
import { purgeOwnerTasks } from './purge-owner-tasks.js';

const usage = `Usage: npm run purge-owner -- (--local | --table NAME) --owner OWNER [--owner OWNER ...] [--dry-run]

Deletes every task of an owner from the task table now, instead of when DynamoDB's TTL gets to them (an
erasure request). OWNER is the owner id as the API derives it: jwt:<sub> or iam:<userArn>.
Revoke the owner's access first: tasks submitted during the purge are not covered.
Deleted items stay in point-in-time recovery backups for the table's recovery period (README "Retention").

  --local      the stack started by npm start on this machine
  --table      a deployed stack: the TableName output of cdk deploy
               (credentials and region from the usual AWS environment; needs dynamodb:Query on the
               owner index and dynamodb:BatchWriteItem on the table)
  --owner      an owner id (repeatable)
  --dry-run    list the tasks that would be deleted, delete nothing`;

const { values } = parseArgs({
  options: {
    local: { type: 'boolean', default: false },
    table: { type: 'string' },
    owner: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const owners = values.owner ?? [];
if (values.help || values.local === Boolean(values.table) || owners.length === 0) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const malformed = owners.filter((owner) => !/^(jwt|iam):./.test(owner));
if (malformed.length > 0) {
  console.error(`Owner ids look like jwt:<sub> or iam:<userArn>, got: ${malformed.join(', ')}`);
  process.exit(2);
}

const target = values.local
  ? await readLocalState().then((state) => ({
      tableName: state.tableName,
      dynamodb: new DynamoDBClient({
        region: state.region,
        endpoint: state.endpoints.dynamodb,
        // The emulator accepts any credentials; these keep the SDK from looking for real ones.
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    }))
  : { tableName: values.table ?? '', dynamodb: new DynamoDBClient({}) };

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
  }
} finally {
  target.dynamodb.destroy();
}
