import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { settings as defaultSettings, reservedConcurrency, type Settings } from '../settings.js';
import { grantSendMessage } from './encryption-key.js';
import { offloadFunction } from './offload-function.js';
import type { TaskTable } from './task-table.js';

export interface RecoverySweepProps {
  /** The table scanned for tasks nothing drives any more. */
  readonly store: TaskTable;
  /** Where their messages are sent again. */
  readonly queue: IQueue;
  /**
   * The other queues a task's message may go to: high-priority queues and other lanes'.
   * @default none
   */
  readonly additionalQueues?: readonly IQueue[];
  /** Environment of the Lambda, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
  /**
   * Minutes between sweeps.
   * @default settings.recovery.intervalMinutes
   */
  readonly intervalMinutes?: number;
  /**
   * Encrypts the function's log group.
   * @default CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: IKey;
}

/**
 * A scheduled Lambda that re-enqueues tasks left QUEUED, or RUNNING past their lease, with no
 * message to drive them (a send that failed after the write, a message past its retention): the
 * safety net behind "an accepted task is never stuck".
 */
export class RecoverySweep extends Construct {
  public readonly handler: lambda.Function;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RecoverySweepProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;

    this.handler = offloadFunction(this, {
      entry: { kind: 'recovery' },
      description: 'offload recovery sweep: re-enqueues tasks whose message was lost',
      timeoutSeconds: settings.recovery.timeoutSeconds,
      memoryMiB: settings.recovery.memoryMiB,
      environment: props.environment,
      reservedConcurrency: reservedConcurrency(settings).recovery,
      logEncryptionKey: props.encryptionKey,
    });
    // A full scan: the sweep looks at every unfinished task, across owners.
    props.store.grantItemActions(this.handler, 'dynamodb:Scan');
    grantSendMessage(this.handler, [props.queue, ...(props.additionalQueues ?? [])]);

    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the offload recovery sweep',
      schedule: Schedule.rate(Duration.minutes(props.intervalMinutes ?? settings.recovery.intervalMinutes)),
      targets: [new LambdaFunction(this.handler, { retryAttempts: 2 })],
    });
  }
}
