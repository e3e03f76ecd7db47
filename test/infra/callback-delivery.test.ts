import { afterAll, describe, expect, it } from 'vitest';
import { callbackVisibilityTimeoutSeconds, settings } from '../../infra/settings.js';
import { ENV } from '../../shared/env-names.js';
import { CALLBACK_COUNTS, CALLBACK_TIMINGS } from '../../shared/metric-names.js';
import { logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

const { stack, template } = synthOffloadStack();
const id = (path: string) => logicalIdOf(stack, path);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const properties = (path: string) => resources[id(path)]?.Properties ?? {};

describe('callback delivery', () => {
  it('keeps messages for longer than the delivery window and dead-letters a message after maxReceiveCount receives', () => {
    expect(properties('Callbacks/Queue')).toMatchObject({
      MessageRetentionPeriod: settings.callbacks.retentionDays * 86_400,
      VisibilityTimeout: callbackVisibilityTimeoutSeconds(),
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [id('Callbacks/DeadLetterQueue'), 'Arn'] },
        maxReceiveCount: settings.callbacks.maxReceiveCount,
      },
    });
    expect(settings.callbacks.retentionDays * 24).toBeGreaterThan(settings.callbacks.deliveryWindowHours);
    expect(properties('Callbacks/DeadLetterQueue').MessageRetentionPeriod).toBe(
      settings.callbacks.deadLetterRetentionDays * 86_400,
    );
  });

  it('feeds the delivery function from its own queue in batches with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id('Callbacks/Function') },
      EventSourceArn: { 'Fn::GetAtt': [id('Callbacks/Queue'), 'Arn'] },
      BatchSize: settings.callbacks.batchSize,
      ScalingConfig: { MaximumConcurrency: settings.callbacks.maxConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('sizes the function for waiting on receivers: Lambda’s smallest memory, a timeout above one request', () => {
    expect(properties('Callbacks/Function')).toMatchObject({
      MemorySize: 128,
      Timeout: settings.callbacks.timeoutSeconds,
    });
    expect(settings.callbacks.timeoutSeconds).toBeGreaterThan(settings.callbacks.requestTimeoutSeconds);
  });

  it('gives every function the delivery queue and the signing key versions, never a key', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    for (const fn of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[ENV.callbackQueueUrl]).toEqual({ Ref: id('Callbacks/Queue') });
      expect(variables[ENV.callbackSigningKeyVersions]).toBe('1');
      expect(variables[ENV.allowLocalCallbacks]).toBeUndefined();
    }
  });

  it.each([
    ['2,1', '2,1'],
    ['3', '3'],
  ])('signs with the versions of -c callbackSigningKeyVersions=%s', (context, expected) => {
    const rotated = synthOffloadStack({ context: { callbackSigningKeyVersions: context } });
    const fn = rotated.template.findResources('AWS::Lambda::Function');
    for (const resource of Object.values(fn)) {
      expect(resource.Properties.Environment.Variables[ENV.callbackSigningKeyVersions]).toBe(expected);
    }
  });

  it('refuses signing key versions that are not whole numbers', () => {
    expect(() => synthOffloadStack({ context: { callbackSigningKeyVersions: 'two' } })).toThrow(
      /callbackSigningKeyVersions/,
    );
  });

  it('alarms on the delivery DLQ to the alarm topic, and recovers there too', () => {
    const topic = { Ref: id('Operations/AlarmTopic') };
    const alarm = properties('Callbacks/DeadLettersAlarm');
    expect(JSON.stringify(alarm)).toContain('ApproximateNumberOfMessagesVisible');
    expect(JSON.stringify(alarm)).toContain(id('Callbacks/DeadLetterQueue'));
    expect(alarm).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it('adds a dashboard row with delivered, failed and retried callbacks and the delivery latency', () => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const name of [...Object.values(CALLBACK_COUNTS), CALLBACK_TIMINGS.latencyMs]) expect(body).toContain(name);
    expect(body).toContain('Callback alarms');
  });
});
