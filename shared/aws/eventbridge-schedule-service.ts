import type { CreateScheduleCommandInput, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { SchedulerTarget } from '../config.js';
import { ValidationError } from '../errors.js';
import type { ScheduleDefinition, ScheduleService } from '../ports.js';
import { toDependencyError } from './dependency-error.js';

export interface EventBridgeScheduleServiceOptions {
  /** Endpoint override (the local stack's emulator, tests); undefined in AWS. */
  readonly endpoint?: string;
  /** Wraps the client once it exists, e.g. Powertools Tracer's `captureAWSv3Client`. @default as is */
  readonly instrument?: <T extends object>(client: T) => T;
}

/** Scheduler fills this in with the time the firing was due, e.g. `2026-03-22T18:59:00Z`. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

const DEPENDENCY = 'scheduler';

type SchedulerModule = typeof import('@aws-sdk/client-scheduler');

/**
 * EventBridge Scheduler through @aws-sdk/client-scheduler, which is imported on the first call: only
 * schedule routes and far-off `runAt` submissions need it, so the API's cold start does not pay for it.
 */
export class EventBridgeScheduleService implements ScheduleService {
  #sdk?: Promise<{ readonly module: SchedulerModule; readonly client: SchedulerClient }>;

  constructor(
    private readonly target: SchedulerTarget,
    private readonly options: EventBridgeScheduleServiceOptions = {},
  ) {}

  async put(definition: ScheduleDefinition): Promise<void> {
    const { module, client } = await this.sdk();
    const input: CreateScheduleCommandInput = {
      Name: definition.name,
      GroupName: this.target.groupName,
      ScheduleExpression: definition.expression,
      ScheduleExpressionTimezone: definition.timezone,
      StartDate: definition.startAt,
      EndDate: definition.endAt,
      State: definition.enabled ? 'ENABLED' : 'DISABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ...(definition.deleteAfterCompletion && { ActionAfterCompletion: 'DELETE' }),
      Target: {
        Arn: this.target.functionArn,
        RoleArn: this.target.roleArn,
        Input: targetInput(definition.target),
        RetryPolicy: {
          MaximumRetryAttempts: this.target.retryAttempts,
          MaximumEventAgeInSeconds: this.target.maxEventAgeSeconds,
        },
        DeadLetterConfig: { Arn: this.target.deadLetterQueueArn },
      },
    };
    try {
      await client.send(new module.CreateScheduleCommand(input));
    } catch (error) {
      // Create-or-replace: the name is taken by an earlier version of this schedule (or an earlier try of this call).
      if ((error as Error).name !== 'ConflictException') throw toScheduleError(error);
      try {
        await client.send(new module.UpdateScheduleCommand(input));
      } catch (updateError) {
        throw toScheduleError(updateError);
      }
    }
  }

  async delete(name: string): Promise<void> {
    const { module, client } = await this.sdk();
    try {
      await client.send(new module.DeleteScheduleCommand({ Name: name, GroupName: this.target.groupName }));
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return;
      throw toScheduleError(error);
    }
  }

  private sdk() {
    this.#sdk ??= import('@aws-sdk/client-scheduler').then((module) => {
      const instrument = this.options.instrument ?? (<T extends object>(client: T) => client);
      return { module, client: instrument(new module.SchedulerClient({ endpoint: this.options.endpoint })) };
    });
    return this.#sdk;
  }
}

/**
 * The JSON the fire function receives: the target, plus the scheduled time Scheduler fills in. `<` is
 * escaped in the target's own values (an owner id is the caller's text), so only our placeholder is one.
 */
export function targetInput(target: object): string {
  const body = JSON.stringify(target).replace(/</g, '\\u003c');
  return `${body.slice(0, -1)},"scheduledTime":"${SCHEDULED_TIME_PLACEHOLDER}"}`;
}

/** Scheduler refusing a definition is the caller's problem (400); throttling and faults are a 503. */
function toScheduleError(error: unknown): Error {
  if ((error as Error).name === 'ValidationException') {
    return new ValidationError('InvalidSchedule', `Scheduler refused the schedule: ${(error as Error).message}`);
  }
  if ((error as Error).name === 'ServiceQuotaExceededException') {
    return toDependencyError(DEPENDENCY, Object.assign(error as Error, { $fault: 'server' }));
  }
  return toDependencyError(DEPENDENCY, error);
}
