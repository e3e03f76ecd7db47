import { createHash } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHandler, createApiHandler } from '../../functions/api/handler.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createWorkerHandler } from '../../functions/worker/handler.js';
import { toSqsRecord } from '../../infra/local/sqs-event-source.js';
import type { SqsBatchHandler } from '../../shared/aws/sqs-batch-handler.js';
import { FileKeyRing } from '../../shared/file-key-ring.js';
import {
  API_REQUEST_LOG_MESSAGE,
  LOG_KEYS,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  SERVICE_NAMES,
  TASK_COUNTS,
  TASK_TIMINGS,
} from '../../shared/metric-names.js';
import { ownerHasher } from '../../shared/owner-hash.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { useEmulatorEnvironment } from '../support/handler-environment.js';
import { httpApiEvent, sqsEvent, testContext } from '../support/lambda-events.js';
import { stdoutLines } from '../support/stdout-lines.js';

let aws: EmulatedAws;
let api: ApiHandler;
let worker: SqsBatchHandler;
let deploymentKeyFile: string;

beforeAll(async () => {
  aws = await startEmulatedAws();
  deploymentKeyFile = useEmulatorEnvironment(aws);
  // What the stack sets from settings; the other handler tests keep the functions quiet.
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  api = createApiHandler(demoTaskTypes);
  worker = createWorkerHandler(demoTaskTypes);
});
afterAll(() => aws.stop());

/** Everything the handlers print during `run`, one parsed JSON object per line, as CloudWatch Logs gets it. */
async function printed(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  return (await stdoutLines(run)).map((line) => JSON.parse(line));
}

const metricDocuments = (output: Record<string, unknown>[]) => output.filter((line) => '_aws' in line);
const logLines = (output: Record<string, unknown>[]) => output.filter((line) => 'message' in line);

describe('handlers in a Lambda-like environment', () => {
  let taskId: string;
  let submitOutput: Record<string, unknown>[];
  let workerOutput: Record<string, unknown>[];
  let messageId: string;

  beforeAll(async () => {
    submitOutput = await printed(async () => {
      const result = await api(
        httpApiEvent({
          routeKey: 'POST /tasks',
          path: '/tasks',
          body: JSON.stringify({ type: 'echo', payload: { n: 1 } }),
          headers: { 'content-type': 'application/json' },
          jwtSub: 'alice',
        }),
        testContext(),
      );
      taskId = JSON.parse(String((result as { body: string }).body)).taskId;
    });
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.resources.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
    );
    const records = Messages.map((message) => toSqsRecord(message, aws.resources.queueArn));
    messageId = records[0]?.messageId ?? '';
    workerOutput = await printed(() => worker(sqsEvent(records), testContext()));
  });

  it('the API emits TaskSubmitted in the Offload namespace with the TaskType dimension', () => {
    const [document] = metricDocuments(submitOutput);
    expect(document).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE }] },
      [METRIC_DIMENSIONS.taskType]: 'echo',
      [TASK_COUNTS.submitted]: 1,
    });
  });

  it('the API logs the submission with the request id and a keyed hash of the owner, never the owner', async () => {
    const expectedHash = ownerHasher(await new FileKeyRing(deploymentKeyFile).deploymentKey())('jwt:alice');
    const submitted = logLines(submitOutput).find((line) => line.message === 'task submitted');
    expect(submitted).toMatchObject({
      service: SERVICE_NAMES.api,
      level: 'INFO',
      [LOG_KEYS.taskId]: taskId,
      [LOG_KEYS.type]: 'echo',
      [LOG_KEYS.ownerHash]: expectedHash,
      [LOG_KEYS.requestId]: expect.any(String),
      function_request_id: expect.any(String),
    });
    expect(JSON.stringify(submitOutput)).not.toContain('alice');
    // Not the bare SHA-256 anyone could compute from a guessed owner id.
    expect(expectedHash).not.toBe(createHash('sha256').update('jwt:alice').digest('hex').slice(0, 16));
  });

  it('the API logs one line per request that joins the access log on requestId', () => {
    const requests = logLines(submitOutput).filter((line) => line.message === API_REQUEST_LOG_MESSAGE);
    const submitted = logLines(submitOutput).find((line) => line.message === 'task submitted');
    expect(requests).toEqual([
      expect.objectContaining({
        level: 'INFO',
        [LOG_KEYS.requestId]: submitted?.[LOG_KEYS.requestId],
        [LOG_KEYS.routeKey]: 'POST /tasks',
        [LOG_KEYS.statusCode]: 202,
        [LOG_KEYS.ownerHash]: submitted?.[LOG_KEYS.ownerHash],
      }),
    ]);
  });

  it('the worker emits start, success, duration and queue wait for the task type', () => {
    const documents = metricDocuments(workerOutput);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ [METRIC_DIMENSIONS.taskType]: 'echo' });
    for (const name of [
      TASK_COUNTS.started,
      TASK_COUNTS.succeeded,
      TASK_TIMINGS.durationMs,
      TASK_TIMINGS.queueWaitMs,
    ]) {
      expect(documents[0]).toHaveProperty(name);
    }
  });

  it('the worker logs each state change with task id, type, attempt and message id', () => {
    const changes = logLines(workerOutput).filter((line) => line[LOG_KEYS.taskId] === taskId);
    expect(changes.map((line) => line.message)).toEqual(['task started', 'task finished']);
    for (const line of changes) {
      expect(line).toMatchObject({
        service: SERVICE_NAMES.worker,
        [LOG_KEYS.type]: 'echo',
        [LOG_KEYS.attempt]: 1,
        [LOG_KEYS.messageId]: messageId,
      });
    }
  });
});
