import { PRICES } from './prices.js';

/** taskId (36) + ownerId (~40) + createdAt (24) and their names: the owner index's share of an item. */
const KEYS_BYTES = 120;

/** Everything the cost model needs, all measured in the run except memory sizes and retention (settings). */
export interface CostInputs {
  /** SDK requests per task on the submit → SUCCEEDED path, by `service operation`. */
  readonly requestsPerTask: Readonly<Record<string, number>>;
  /** Worker invocations per task (non-empty receives of the mapping: the batching window is 0). */
  readonly workerInvocationsPerTask: number;
  /** Largest item size seen in each stage of a task's life, bytes (DynamoDB rules). */
  readonly itemBytes: { readonly queued: number; readonly running: number; readonly finished: number };
  /**
   * Global secondary indexes written when an item is created or deleted. The owner index projects
   * keys only, and claims, progress and completions change no key, so updates never write it.
   */
  readonly indexesWritten: number;
  /** The status poll reads strongly consistent (ConsistentRead: true). */
  readonly consistentPoll: boolean;
  /** Billed milliseconds per invocation (upper bounds measured locally). */
  readonly durationsMs: { readonly submit: number; readonly poll: number; readonly worker: number };
  readonly memoryMiB: { readonly api: number; readonly worker: number };
  readonly sqsMessageBytes: number;
  readonly retentionDays: number;
  /** The recovery sweep Scans the whole table this often (eventually consistent); undefined when there is none. */
  readonly sweepIntervalMinutes?: number;
  /** Status polls per task: 1 for the headline figure, 0 for the submit-only cost a callback is added to. @default 1 */
  readonly polls?: number;
  /**
   * HTTP API requests per task, each an API Lambda invocation: submit and one poll, plus `POST /tasks/uploads`
   * for a payload uploaded through a presigned URL. @default 2
   */
  readonly apiRequestsPerTask?: number;
  /** Bytes a task keeps in the task data bucket, for `retentionDays` (its lifecycle expiry). @default 0 */
  readonly s3StoredBytesPerTask?: number;
  /**
   * Tasks per API request, submit and poll alike: 10 when tasks go in batches (POST /tasks/batch) and come
   * back the same way (GET /tasks?ids=). `durationsMs.submit` and `.poll` are then per request. @default 1
   */
  readonly tasksPerRequest?: number;
  /** The polls' reads are among `requestsPerTask` (measured), so the model adds none of its own. @default false */
  readonly pollReadsCounted?: boolean;
}

export interface CostLine {
  readonly item: string;
  readonly quantityPerTask: number;
  readonly usdPerMillionTasks: number;
}

/** Cost per million tasks, each submitted once and polled once (or `polls` times), with no free tier. */
export function costPerMillionTasks(inputs: CostInputs): { totalUsd: number; lines: CostLine[] } {
  const polls = inputs.polls ?? 1;
  const r = (op: string) => inputs.requestsPerTask[op] ?? 0;
  const { lambda, httpApi, sqs, dynamodb, s3 } = PRICES;
  const apiRequests = inputs.apiRequestsPerTask ?? 1 + polls;
  // Every S3 request by kind: the functions' (SDK) and the caller's presigned ones, all `S3 …` entries.
  const s3Requests = (kinds: readonly string[]) =>
    Object.entries(inputs.requestsPerTask)
      .filter(([op]) => op.startsWith('S3 ') && kinds.some((kind) => op.startsWith(`S3 ${kind}`)))
      .reduce((sum, [, n]) => sum + n, 0);
  const s3Puts = s3Requests(['PutObject', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'ListObjects']);
  const s3Gets = s3Requests(['GetObject', 'HeadObject']);
  const s3GbMonths = ((inputs.s3StoredBytesPerTask ?? 0) / 1024 ** 3) * (inputs.retentionDays / 30);
  const gbSeconds = (memoryMiB: number, ms: number) => (memoryMiB / 1024) * (Math.ceil(ms) / 1000);
  const writeUnits = (bytes: number) => Math.ceil(bytes / dynamodb.writeUnitBytes);
  const { queued, running, finished } = inputs.itemBytes;
  // An update is billed on the larger of the item before and after it.
  const putUnits = writeUnits(queued);
  const updateUnits = writeUnits(Math.max(queued, running, finished));
  const writesPerTask =
    (r('DynamoDB PutItem') + r('DynamoDB DeleteItem')) * (putUnits + inputs.indexesWritten) +
    r('DynamoDB UpdateItem') * updateUnits;
  const readUnit = Math.ceil(finished / dynamodb.readUnitBytes) * (inputs.consistentPoll ? 1 : 0.5);
  // One poll per task, plus any read on the path (a claim that lost, a cancel check).
  const pollReads = inputs.pollReadsCounted ? 0 : polls;
  const readsPerTask = (r('DynamoDB GetItem') + r('DynamoDB Query') + pollReads) * readUnit;
  const perRequest = inputs.tasksPerRequest ?? 1;
  const sqsChunks = Math.ceil(inputs.sqsMessageBytes / sqs.chunkBytes);
  // A SendMessageBatch of up to ten small messages is one request (its payload is far under 64 KB).
  const sqsRequests =
    r('SQS SendMessage') * sqsChunks +
    r('SQS SendMessageBatch') +
    r('SQS ReceiveMessage') +
    r('SQS DeleteMessage') +
    r('SQS DeleteMessageBatch') +
    r('SQS ChangeMessageVisibility');
  // An index entry holds the keys only: taskId, ownerId, createdAt.
  const storedBytes =
    finished + dynamodb.itemOverheadBytes + (KEYS_BYTES + dynamodb.itemOverheadBytes) * inputs.indexesWritten;
  const gbMonths = (storedBytes / 1024 ** 3) * (inputs.retentionDays / 30);
  // Every item is read by each sweep during its whole life in the table: Scan bills the bytes it reads, filter or not.
  const sweepsPerItem = inputs.sweepIntervalMinutes
    ? (inputs.retentionDays * 24 * 60) / inputs.sweepIntervalMinutes
    : 0;
  const sweepReadUnits = (sweepsPerItem * finished) / dynamodb.readUnitBytes / 2;
  const apiInvocations = apiRequests / perRequest;
  const gbSecondsPerTask =
    // `submit` is the sum of the submitting calls (with an upload: the upload URL's and the submit's).
    gbSeconds(inputs.memoryMiB.api, inputs.durationsMs.submit) / perRequest +
    (polls * gbSeconds(inputs.memoryMiB.api, inputs.durationsMs.poll)) / perRequest +
    gbSeconds(inputs.memoryMiB.worker, inputs.durationsMs.worker) * inputs.workerInvocationsPerTask;
  const line = (item: string, quantityPerTask: number, usdPerUnit: number): CostLine => ({
    item,
    quantityPerTask,
    usdPerMillionTasks: usdPerUnit * quantityPerTask * 1e6,
  });
  const perMillion = 1e-6;
  const lines: CostLine[] = [
    line(
      `HTTP API requests (${apiRequests > 1 + polls ? 'upload URL + ' : ''}submit + ${polls} poll${polls === 1 ? '' : 's'}${perRequest === 1 ? '' : `, ${perRequest} tasks each`})`,
      apiInvocations,
      httpApi.perMillionRequests * perMillion,
    ),
    line(
      perRequest === 1
        ? `Lambda requests (API ×${apiRequests} + worker share)`
        : `Lambda requests (API ×${apiRequests} per ${perRequest} tasks + worker share)`,
      apiInvocations + inputs.workerInvocationsPerTask,
      lambda.perMillionRequests * perMillion,
    ),
    line(
      `Lambda GB-s arm64 (API ${inputs.memoryMiB.api} MB, worker ${inputs.memoryMiB.worker} MB)`,
      gbSecondsPerTask,
      lambda.perGbSecondArm64,
    ),
    line('SQS requests (64 KB chunks)', sqsRequests, sqs.perMillionRequests * perMillion),
    line(
      `DynamoDB write units (table; the keys-only GSI on create)`,
      writesPerTask,
      dynamodb.perMillionWriteRequestUnits * perMillion,
    ),
    line(
      `DynamoDB read units (${polls === 0 ? 'no poll' : `poll${inputs.consistentPoll ? ', strongly consistent' : ''}`})`,
      readsPerTask,
      dynamodb.perMillionReadRequestUnits * perMillion,
    ),
    line(
      `DynamoDB read units of the recovery sweep (Scan every ${inputs.sweepIntervalMinutes ?? '-'} min × ${inputs.retentionDays} days)`,
      sweepReadUnits,
      dynamodb.perMillionReadRequestUnits * perMillion,
    ),
    line(`DynamoDB storage (${inputs.retentionDays} days, GB-month)`, gbMonths, dynamodb.storagePerGbMonth),
    // Task data lines only where a task has data in the bucket: the small-task table stays as it was.
    ...(s3Puts + s3Gets + s3GbMonths > 0
      ? [
          line('S3 PUT requests (payload: API or presigned upload; result)', s3Puts, s3.perThousandPutRequests / 1000),
          line(
            'S3 GET requests (worker reads the payload; API checks an upload)',
            s3Gets,
            s3.perThousandGetRequests / 1000,
          ),
          line(`S3 storage (${inputs.retentionDays} days, GB-month)`, s3GbMonths, s3.storagePerGbMonth),
        ]
      : []),
  ];
  const totalUsd = lines.reduce((sum, line) => sum + line.usdPerMillionTasks, 0);
  return { totalUsd, lines };
}

/** What the callback path of a task costs, all measured in the callback run (per task). */
export interface CallbackCostInputs {
  /** Requests on the delivery queue: the send after the terminal write, the mapping's receives and deletes, retries. */
  readonly sqsRequests: number;
  /** The delivery's strongly consistent read of the task. */
  readonly reads: number;
  /** The delivery's fenced record of its outcome. */
  readonly writes: number;
  /** The finished item with its callback, bytes (DynamoDB rules). */
  readonly itemBytes: number;
  /** Invocations of the delivery function. */
  readonly invocations: number;
  /** Billed milliseconds per invocation (local: the receiver answers at once). */
  readonly durationMs: number;
  readonly memoryMiB: number;
}

/** Cost per million tasks of one callback each, on top of the submit-only cost: no HTTP API request at all. */
export function callbackCostPerMillion(inputs: CallbackCostInputs): { totalUsd: number; lines: CostLine[] } {
  const { lambda, sqs, dynamodb } = PRICES;
  const perMillion = 1e-6;
  const line = (item: string, quantityPerTask: number, usdPerUnit: number): CostLine => ({
    item,
    quantityPerTask,
    usdPerMillionTasks: usdPerUnit * quantityPerTask * 1e6,
  });
  const readUnits = inputs.reads * Math.ceil(inputs.itemBytes / dynamodb.readUnitBytes);
  const writeUnits = inputs.writes * Math.ceil(inputs.itemBytes / dynamodb.writeUnitBytes);
  const gbSeconds = inputs.invocations * (inputs.memoryMiB / 1024) * (Math.ceil(inputs.durationMs) / 1000);
  const lines: CostLine[] = [
    line(
      'SQS requests on the delivery queue (send, receive, delete)',
      inputs.sqsRequests,
      sqs.perMillionRequests * perMillion,
    ),
    line(
      'DynamoDB read units (the delivery reads the task, strongly consistent)',
      readUnits,
      dynamodb.perMillionReadRequestUnits * perMillion,
    ),
    line(
      'DynamoDB write units (the delivery records its outcome)',
      writeUnits,
      dynamodb.perMillionWriteRequestUnits * perMillion,
    ),
    line('Lambda requests (delivery function share)', inputs.invocations, lambda.perMillionRequests * perMillion),
    line(`Lambda GB-s arm64 (delivery ${inputs.memoryMiB} MB)`, gbSeconds, lambda.perGbSecondArm64),
  ];
  return { totalUsd: lines.reduce((sum, l) => sum + l.usdPerMillionTasks, 0), lines };
}
