import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Observability } from './powertools-observability.js';

/** A Lambda handler fed by an SQS event source mapping that reports partial batch failures. */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The handler of every offload function fed by an SQS mapping (worker, dead-letter handler, callback
 * delivery): each record goes through `processRecord` on its own, a record that throws comes back as a
 * batch item failure (only it is retried), and the metrics are flushed whatever happens.
 */
export function sqsBatchHandler(
  { logger, tracer, metrics }: Observability,
  processRecord: (record: SQSRecord, context: Context) => Promise<unknown>,
): SqsBatchHandler {
  // A declaration, so stack traces name it `handler` (an arrow function would be anonymous).
  async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    await tracer.loadIfSampled();
    logger.addContext(context);
    // A processor per invocation: it holds per-batch state, and the local stack may run invocations concurrently.
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => processRecord(record, context),
        new BatchProcessor(EventType.SQS),
        { context, throwOnFullBatchFailure: false },
      );
    } finally {
      metrics.flush();
    }
  }
  return handler;
}
