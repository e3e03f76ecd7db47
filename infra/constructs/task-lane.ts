import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Lane } from '../lanes.js';
import type { Settings } from '../settings.js';
import { TaskQueues } from './task-queues.js';
import type { TaskTable } from './task-table.js';
import { TaskWorker } from './task-worker.js';

/** What a lane is made of, for whoever wires to it (the construct's `lanes`). */
export interface LaneResources {
  readonly lane: Lane;
  readonly queue: Queue;
  readonly highPriorityQueue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: LambdaFunction;
}

export interface TaskLaneProps {
  readonly lane: Lane;
  readonly settings: Settings;
  /**
   * Encrypts the queues and the worker's log group.
   * @default SQS-managed encryption, CloudWatch Logs' own
   */
  readonly encryptionKey?: IKey;
}

/**
 * A lane other than the default one: its queues (`TaskQueue`) and its worker (`TaskWorker`), built in two
 * steps because the worker's environment names every lane's queues. The default lane's parts are built
 * by the Offload construct itself, under the ids they had before lanes existed.
 */
export class TaskLane extends Construct {
  public readonly lane: Lane;
  public readonly queues: TaskQueues;
  #worker?: TaskWorker;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: TaskLaneProps,
  ) {
    super(scope, id);
    this.lane = props.lane;
    this.queues = new TaskQueues(this, 'TaskQueue', {
      encryptionKey: props.encryptionKey,
      settings: props.settings,
      lane: props.lane,
    });
  }

  /** Builds the lane's worker, fed by both of its queues. */
  addWorker(props: {
    readonly store: TaskTable;
    readonly environment: Record<string, string>;
    readonly taskModule?: string;
  }): LambdaFunction {
    if (this.#worker) throw new Error(`Lane ${this.lane.name} already has its worker.`);
    this.#worker = new TaskWorker(this, 'TaskWorker', {
      ...props,
      queue: this.queues.queue,
      highPriorityQueue: this.queues.highPriorityQueue,
      lane: this.lane,
      settings: this.props.settings,
      encryptionKey: this.props.encryptionKey,
    });
    return this.#worker.handler;
  }

  /** The lane's parts; call once its worker is built. */
  get resources(): LaneResources {
    if (!this.#worker) throw new Error(`Lane ${this.lane.name} has no worker yet: call addWorker first.`);
    return {
      lane: this.lane,
      queue: this.queues.queue,
      highPriorityQueue: this.queues.highPriorityQueue,
      deadLetterQueue: this.queues.deadLetterQueue,
      worker: this.#worker.handler,
    };
  }
}
