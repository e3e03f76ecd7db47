import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import type { LaneTable } from '../../shared/lanes.js';
import { readLocalState } from '../local/state-file.js';
import { settings } from '../settings.js';
import { redriveDeadLetters } from './redrive-dead-letters.js';

const usage = `Usage: npm run redrive -- (--local | --table NAME --queue-url URL [--lane-queues JSON]) [--task-id ID ...] [--attempts N] [--dry-run]

Re-queues tasks that ended FAILED with code DeadLettered (their worker kept crashing or timing out),
after the cause is fixed. Each gets N more attempts (default ${settings.tasks.defaultMaxAttempts}).

  --local           the stack started by npm start on this machine
  --table, --queue-url
                    a deployed stack: the TableName and QueueUrl outputs of cdk deploy
                    (credentials and region from the usual AWS environment)
  --lane-queues     the LaneQueueUrls output of cdk deploy: each task goes back to its own lane's
                    queue at its own priority; without it, every task goes to --queue-url
  --task-id ID      only these tasks (repeatable); default: every dead-lettered task (a table scan)
  --dry-run         list what would be re-queued, change nothing`;

const { values } = parseArgs({
  options: {
    local: { type: 'boolean', default: false },
    table: { type: 'string' },
    'queue-url': { type: 'string' },
    'lane-queues': { type: 'string' },
    'task-id': { type: 'string', multiple: true },
    attempts: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || (!values.local && (!values.table || !values['queue-url']))) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const extraAttempts = Number(values.attempts ?? settings.tasks.defaultMaxAttempts);
if (!Number.isInteger(extraAttempts) || extraAttempts < 1) {
  console.error(`--attempts must be a whole number ≥ 1, got ${values.attempts}`);
  process.exit(2);
}

/** The LaneQueueUrls output (`{ lane: { normal, high } }`) as a lane table; undefined when not given. */
function laneQueues(json: string | undefined): LaneTable | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = JSON.parse(json) as Record<string, { normal: string; high: string }>;
    return Object.fromEntries(
      Object.entries(parsed).map(([lane, queues]) => [
        lane,
        { queues: { normal: queues.normal, high: queues.high }, staleAfterSeconds: 0 },
      ]),
    );
  } catch {
    console.error('--lane-queues takes the LaneQueueUrls output of cdk deploy: JSON of { lane: { normal, high } }.');
    process.exit(2);
  }
}

/** The emulators accept any credentials; these keep the SDK from looking for real ones. */
const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };
const target = values.local
  ? await readLocalState().then((state) => ({
      tableName: state.tableName,
      queueUrl: state.queueUrl,
      lanes: state.lanes,
      dynamodb: new DynamoDBClient({ region: state.region, endpoint: state.endpoints.dynamodb, credentials: LOCAL }),
      sqs: new SQSClient({ region: state.region, endpoint: state.endpoints.sqs, credentials: LOCAL }),
    }))
  : {
      tableName: values.table ?? '',
      queueUrl: values['queue-url'] ?? '',
      lanes: laneQueues(values['lane-queues']),
      dynamodb: new DynamoDBClient({}),
      sqs: new SQSClient({}),
    };

const logLine =
  (level: string) =>
  (message: string, ...extra: Record<string, unknown>[]) =>
    console.error(`${level} ${message} ${extra.map((e) => JSON.stringify(e)).join(' ')}`);
const requeued = await redriveDeadLetters(
  { taskIds: values['task-id'], extraAttempts, dryRun: values['dry-run'] },
  {
    store: new DynamoTaskStore(DynamoDBDocumentClient.from(target.dynamodb), target.tableName),
    queue: new SqsTaskQueue(target.sqs, target.queueUrl, { lanes: target.lanes }),
    clock: () => new Date(),
    log: { debug: () => {}, info: () => {}, warn: logLine('skipped:'), error: logLine('error:') },
  },
);
for (const taskId of requeued) console.log(taskId);
console.error(`${values['dry-run'] ? 'would re-queue' : 're-queued'} ${requeued.length} task(s)`);
target.dynamodb.destroy();
target.sqs.destroy();
