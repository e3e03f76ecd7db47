import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { Offload, type OffloadProps } from '../../infra/cdk.js';
import { settings, visibilityTimeoutSeconds } from '../../infra/settings.js';
import { ENV } from '../../shared/env-names.js';

const fixture = (name: string) => fileURLToPath(new URL(`../support/fixtures/${name}`, import.meta.url));
const REPORT_TASKS = fixture('report-tasks.ts');

/** The construct in a stack of its own, without bundling (esbuild is the slow part; bundling has tests of its own). */
function build(props: OffloadProps = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Consumer');
  const offload = new Offload(stack, 'Offload', props);
  return { stack, offload, template: () => Template.fromStack(stack) };
}

describe('Offload', () => {
  it("registers the task module's types, and exposes what a stack wires to", () => {
    const { offload } = build({ tasks: REPORT_TASKS });

    expect(offload.taskTypeNames).toEqual(['report']);
    for (const value of [offload.apiUrl, offload.httpApi, offload.table, offload.queue, offload.deadLetterQueue]) {
      expect(value).toBeDefined();
    }
    expect([offload.worker, offload.dashboard, offload.alarmTopic, offload.deploymentKeySecret]).not.toContain(
      undefined,
    );
  });

  it('takes a task module path relative to the working directory, as cdk runs', () => {
    const relative = fileURLToPath(new URL('../support/fixtures/report-tasks.ts', import.meta.url)).replace(
      `${process.cwd()}/`,
      '',
    );
    expect(build({ tasks: relative }).offload.taskTypeNames).toEqual(['report']);
  });

  it('applies a setting given as a prop everywhere it matters: the Lambda and the queue it sizes', () => {
    const { template } = build({ tasks: REPORT_TASKS, worker: { timeoutSeconds: 80 } });

    template().hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('worker'),
      Timeout: 80,
    });
    const visibility = visibilityTimeoutSeconds({ ...settings.worker, timeoutSeconds: 80 });
    template().hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: visibility,
      RedrivePolicy: Match.anyValue(),
    });
  });

  it("synthesizes the README's deployment example as written: a 120-s worker moves the sweep's stale time with it", () => {
    const { template } = build({
      tasks: REPORT_TASKS,
      worker: { timeoutSeconds: 120, memoryMiB: 2048 },
      alarmEmail: 'ops@example.com',
    });

    const horizon =
      settings.queue.maxReceiveCount * visibilityTimeoutSeconds({ ...settings.worker, timeoutSeconds: 120 });
    const functions = Object.values(template().findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const stale = functions.map((fn) => Number(fn.Properties.Environment?.Variables?.[ENV.staleAfterSeconds]));
    expect(stale.length).toBeGreaterThan(0);
    for (const seconds of stale) expect(seconds).toBeGreaterThan(horizon);
  });

  it.each<[string, OffloadProps, RegExp]>([
    [
      'a worker timeout past Lambda’s 15 minutes',
      { worker: { timeoutSeconds: 1_000 } },
      /worker\.timeoutSeconds is 1000/,
    ],
    ['a mapping concurrency below 2', { worker: { maxConcurrency: 1 } }, /worker\.maxConcurrency is 1: .*at least 2/],
    ['an API timeout past API Gateway’s 30 s', { api: { timeoutSeconds: 60 } }, /api\.timeoutSeconds is 60/],
    ['memory Lambda cannot give', { dlq: { memoryMiB: 64 } }, /dlq\.memoryMiB is 64/],
    ['a token lifetime Cognito refuses', { auth: { kind: 'cognito', tokenMinutes: 2 } }, /token lifetime is 2 minutes/],
    ['a misspelt setting', { worker: { timeoutSecs: 5 } as never }, /worker\.timeoutSecs is not a setting/],
    ['a number given as a string', { api: { memoryMiB: '512' } as never }, /api\.memoryMiB must be a number/],
    [
      'reservations the account cannot hold',
      { accountConcurrency: 150 },
      /reserve \d+ concurrent executions .* quota of 150/,
    ],
  ])('refuses %s at synth, saying which setting', (_case, props, message) => {
    expect(() => build({ tasks: REPORT_TASKS, ...props })).toThrow(message);
  });

  it('refuses a task type whose attempts the queue would dead-letter first, naming the type', () => {
    expect(() => build({ tasks: fixture('greedy-tasks.ts') })).toThrow(/Task type "stubborn" has 9 attempts/);
    // Raising maxReceiveCount (and the sweep's wait with it) makes the same module deployable.
    expect(
      build({
        tasks: fixture('greedy-tasks.ts'),
        queue: { maxReceiveCount: 10 },
        recovery: { staleAfterSeconds: 2 * 60 * 60 },
      }).offload.taskTypeNames,
    ).toEqual(['stubborn']);
  });

  it.each([
    ['a path with no file', fixture('missing-tasks.ts'), /does not exist/],
    ['a module without taskTypes', fixture('no-task-types.ts'), /has no export taskTypes/],
  ])('refuses %s', (_case, tasks, message) => {
    expect(() => build({ tasks })).toThrow(message);
  });

  it('grants an IAM principal the task routes only, under auth iam', () => {
    const { stack, offload, template } = build({ tasks: REPORT_TASKS, auth: { kind: 'iam', perSessionRoles: [] } });
    const caller = new Role(stack, 'Caller', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });

    offload.grantSubmit(caller);

    const statements = Object.values(template().findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => statement.Action === 'execute-api:Invoke');
    const resources = JSON.stringify(statements.flatMap((statement) => statement.Resource));
    expect(statements).toHaveLength(1);
    for (const route of ['/POST/tasks"', '/GET/tasks"', '/GET/tasks/*"', '/DELETE/tasks/*"']) {
      expect(resources).toContain(route);
    }
    expect(resources).not.toContain('/health');
  });

  it('refuses grantSubmit under a token authorizer, where IAM permissions would do nothing', () => {
    const { stack, offload } = build({ tasks: REPORT_TASKS });
    const caller = new Role(stack, 'Caller', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    expect(() => offload.grantSubmit(caller)).toThrow(/needs auth kind "iam"/);
  });
});
