import { describe, expect, it } from 'vitest';
import { functionEnvironment, schedulerEnvironment } from '../../infra/function-environment.js';
import { type Settings, settings } from '../../infra/settings.js';
import { loadConfig } from '../../shared/config.js';
import { ENV } from '../../shared/env-names.js';
import { ConfigError } from '../../shared/errors.js';

const QUEUES = 'https://sqs.eu-west-1.amazonaws.com/123456789012';
const RESOURCES = { tableName: 'offload-tasks', queueUrl: `${QUEUES}/tasks` };
const LANES = {
  default: { queues: { normal: `${QUEUES}/tasks`, high: `${QUEUES}/tasks-high` }, staleAfterSeconds: 77 },
  long: { queues: { normal: `${QUEUES}/long`, high: `${QUEUES}/long-high` }, staleAfterSeconds: 40_000 },
};

/** Every number distinct, so that a variable read into the wrong field cannot pass unnoticed. */
const DISTINCT_SETTINGS: Settings = {
  ...settings,
  api: { ...settings.api, maxBodyBytes: 1_001, retryAfterSeconds: 2 },
  tasks: {
    ...settings.tasks,
    defaultMaxAttempts: 4,
    retryBaseDelaySeconds: 5,
    retryMaxDelaySeconds: 600,
    ttlDays: 8,
    maxResultBytes: 2_002,
    cancelCheckSeconds: 9,
    leaseGraceSeconds: 3,
  },
  recovery: { ...settings.recovery, staleAfterSeconds: 77 },
  callbacks: {
    ...settings.callbacks,
    requestTimeoutSeconds: 11,
    maxResponseBytes: 1_003,
    retryBaseDelaySeconds: 6,
    retryMaxDelaySeconds: 700,
    deliveryWindowHours: 12,
    signingKeyVersions: [3, 2],
  },
  schedules: {
    ...settings.schedules,
    maxPerOwner: 11,
    maxRunAtDays: 12,
    runAtQueueDelayMaxSeconds: 13,
    retryAttempts: 14,
    maxEventAgeSeconds: 150,
  },
  auth: {
    ...settings.auth,
    iamPerSessionRoles: ['arn:aws:iam::123456789012:role/people/person', 'arn:aws-cn:iam::210987654321:role/staff'],
  },
};

const CALLBACK_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/callbacks';
const validEnv = (): Record<string, string | undefined> =>
  functionEnvironment({ ...RESOURCES, callbackQueueUrl: CALLBACK_QUEUE_URL, lanes: LANES }, DISTINCT_SETTINGS);

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  return expect.unreachable('expected a ConfigError');
}

const REQUIRED = [
  ENV.tableName,
  ENV.queueUrl,
  ENV.maxBodyBytes,
  ENV.retryAfterSeconds,
  ENV.defaultMaxAttempts,
  ENV.retryBaseDelaySeconds,
  ENV.retryMaxDelaySeconds,
  ENV.ttlDays,
  ENV.maxResultBytes,
  ENV.cancelCheckSeconds,
  ENV.staleAfterSeconds,
  ENV.leaseGraceSeconds,
  ENV.callbackRequestTimeoutSeconds,
  ENV.callbackMaxResponseBytes,
  ENV.callbackRetryBaseDelaySeconds,
  ENV.callbackRetryMaxDelaySeconds,
  ENV.callbackDeliveryWindowSeconds,
  ENV.callbackSigningKeyVersions,
];

describe('loadConfig', () => {
  it('reads the environment infra builds back into the settings it was built from', () => {
    expect(loadConfig(validEnv())).toEqual({
      tableName: 'offload-tasks',
      queueUrl: RESOURCES.queueUrl,
      maxBodyBytes: 1_001,
      retryAfterSeconds: 2,
      defaultMaxAttempts: 4,
      retryBaseDelaySeconds: 5,
      retryMaxDelaySeconds: 600,
      ttlDays: 8,
      maxResultBytes: 2_002,
      cancelCheckSeconds: 9,
      staleAfterSeconds: 77,
      leaseGraceSeconds: 3,
      lanes: LANES,
      diagnosticTasks: false,
      iamPerSessionRoles: [
        { partition: 'aws', accountId: '123456789012', roleName: 'person' },
        { partition: 'aws-cn', accountId: '210987654321', roleName: 'staff' },
      ],
      fairness: { fairQueues: true, tableName: undefined, ownerWaitMaxSeconds: 60 },
      deploymentKey: {},
      schedules: { maxPerOwner: 11, maxRunAtDays: 12, runAtQueueDelayMaxSeconds: 13 },
      endpoints: { dynamodb: undefined, sqs: undefined, scheduler: undefined },
      callbacks: {
        queueUrl: CALLBACK_QUEUE_URL,
        requestTimeoutMs: 11_000,
        maxResponseBytes: 1_003,
        retryBaseDelaySeconds: 6,
        retryMaxDelaySeconds: 700,
        deliveryWindowSeconds: 12 * 3600,
        signingKeyVersions: [3, 2],
        allowLocal: false,
      },
    });
  });

  it("reads the schedule table, and the API's Scheduler target when infra gives it", () => {
    const scheduler = {
      groupName: 'offload-schedules',
      targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fire',
      roleArn: 'arn:aws:iam::123456789012:role/scheduler',
      deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:firings-dlq',
    };
    const env = {
      ...functionEnvironment({ ...RESOURCES, scheduleTableName: 'offload-schedules' }, DISTINCT_SETTINGS),
      ...schedulerEnvironment(scheduler, DISTINCT_SETTINGS),
    };

    expect(loadConfig(env).schedules).toEqual({
      tableName: 'offload-schedules',
      maxPerOwner: 11,
      maxRunAtDays: 12,
      runAtQueueDelayMaxSeconds: 13,
      target: {
        groupName: scheduler.groupName,
        functionArn: scheduler.targetArn,
        roleArn: scheduler.roleArn,
        deadLetterQueueArn: scheduler.deadLetterQueueArn,
        retryAttempts: 14,
        maxEventAgeSeconds: 150,
      },
    });
  });

  it('allows local callback URLs only when the local stack asks for it', () => {
    expect(loadConfig(functionEnvironment(RESOURCES)).callbacks).toMatchObject({ allowLocal: false });
    expect(loadConfig(functionEnvironment({ ...RESOURCES, allowLocalCallbacks: true })).callbacks).toMatchObject({
      allowLocal: true,
    });
    expect(loadConfig(functionEnvironment(RESOURCES)).callbacks.queueUrl).toBeUndefined();
  });

  it.each(['', '0', '2,2', 'two', '1,'])('refuses signing key versions %j', (value) => {
    expect(configErrorOf({ ...validEnv(), [ENV.callbackSigningKeyVersions]: value }).message).toContain(
      ENV.callbackSigningKeyVersions,
    );
  });

  it('reads the fair-share limits infra turns on, each with its numbers', () => {
    const env = functionEnvironment(
      { ...RESOURCES, fairShareTableName: 'offload-fair-share' },
      {
        ...DISTINCT_SETTINGS,
        fairness: {
          fairQueues: false,
          ownerConcurrency: { enabled: true, maxRunning: 3, maxWaitSeconds: 41 },
          submitRate: { enabled: true, maxTasks: 17, windowSeconds: 19 },
        },
      },
    );

    expect(loadConfig(env).fairness).toEqual({
      fairQueues: false,
      tableName: 'offload-fair-share',
      ownerMaxRunning: 3,
      ownerWaitMaxSeconds: 41,
      submitRate: { maxTasks: 17, windowSeconds: 19 },
    });
  });

  it('is given no limit by infra while the limits are off, even with a fair-share table', () => {
    const env = functionEnvironment({ ...RESOURCES, fairShareTableName: 'offload-fair-share' });

    expect(loadConfig(env).fairness).toEqual({
      fairQueues: true,
      tableName: 'offload-fair-share',
      ownerWaitMaxSeconds: settings.fairness.ownerConcurrency.maxWaitSeconds,
    });
  });

  it.each([ENV.ownerMaxRunning, ENV.submitRateMaxTasks])(
    'throws a ConfigError when %s is set without the fair-share table that holds its state',
    (name) => {
      expect(configErrorOf({ ...validEnv(), [name]: '5' }).message).toContain(ENV.fairShareTableName);
    },
  );

  it.each([
    [
      { deploymentKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:offload-key-AbCdEf' },
      { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:offload-key-AbCdEf' },
    ],
    [{ deploymentKeyFile: '/data/deployment-key' }, { file: '/data/deployment-key' }],
  ])('reads where the deployment key is from what infra gives (%j), never the key itself', (resources, expected) => {
    expect(loadConfig(functionEnvironment({ ...RESOURCES, ...resources })).deploymentKey).toEqual(expected);
  });

  it('reads the default settings as they are', () => {
    const config = loadConfig(functionEnvironment(RESOURCES));

    expect(config).toMatchObject({
      maxBodyBytes: settings.api.maxBodyBytes,
      retryAfterSeconds: settings.api.retryAfterSeconds,
      defaultMaxAttempts: settings.tasks.defaultMaxAttempts,
      retryBaseDelaySeconds: settings.tasks.retryBaseDelaySeconds,
      retryMaxDelaySeconds: settings.tasks.retryMaxDelaySeconds,
      ttlDays: settings.tasks.ttlDays,
      maxResultBytes: settings.tasks.maxResultBytes,
      cancelCheckSeconds: settings.tasks.cancelCheckSeconds,
      staleAfterSeconds: settings.recovery.staleAfterSeconds,
    });
  });

  it('is given by infra only variables whose names it knows', () => {
    const known: readonly string[] = Object.values(ENV);

    expect(Object.keys(functionEnvironment(RESOURCES)).filter((name) => !known.includes(name))).toEqual([]);
  });

  it.each(REQUIRED)('throws a ConfigError naming %s when it is missing', (name) => {
    const env = validEnv();
    delete env[name];

    expect(configErrorOf(env).message).toContain(name);
  });

  it('names every missing variable at once', () => {
    const env = validEnv();
    delete env[ENV.tableName];
    delete env[ENV.ttlDays];

    const { message } = configErrorOf(env);

    expect(message).toContain(ENV.tableName);
    expect(message).toContain(ENV.ttlDays);
  });

  it.each([
    { name: ENV.queueUrl, value: 'not a url' },
    { name: ENV.maxBodyBytes, value: 'lots' },
    { name: ENV.maxBodyBytes, value: '-1' },
    { name: ENV.maxBodyBytes, value: '1.5' },
    { name: ENV.defaultMaxAttempts, value: '0' },
    { name: ENV.ttlDays, value: '0' },
    { name: ENV.retryMaxDelaySeconds, value: '43201' },
    { name: ENV.diagnosticTasks, value: 'yes' },
    { name: ENV.dynamodbEndpoint, value: '127.0.0.1 8000' },
    { name: ENV.iamPerSessionRoles, value: 'person' },
    { name: ENV.iamPerSessionRoles, value: 'arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:user/b' },
    { name: ENV.iamPerSessionRoles, value: 'arn:aws:sts::123456789012:assumed-role/person/alice' },
    { name: ENV.deploymentKeySecretArn, value: 'offload-key' },
    { name: ENV.lanes, value: 'not json' },
    { name: ENV.lanes, value: JSON.stringify({ Long: LANES.long }) },
    {
      name: ENV.lanes,
      value: JSON.stringify({ long: { queues: { normal: 'nope', high: 'nope' }, staleAfterSeconds: 1 } }),
    },
    { name: ENV.lanes, value: JSON.stringify({ long: { queues: LANES.long.queues } }) },
    { name: ENV.ownerMaxRunning, value: '0' },
    { name: ENV.ownerMaxRunning, value: '-2' },
    { name: ENV.submitRateMaxTasks, value: '0' },
    { name: ENV.fairQueues, value: 'yes' },
  ])('throws a ConfigError naming $name when it is $value', ({ name, value }) => {
    expect(configErrorOf({ ...validEnv(), [name]: value }).message).toContain(name);
  });

  // An empty variable is a deployment mistake, not a request for 0.
  it.each([ENV.maxBodyBytes, ENV.retryAfterSeconds, ENV.maxResultBytes])(
    'throws a ConfigError naming %s when it is empty',
    (name) => {
      expect(configErrorOf({ ...validEnv(), [name]: '' }).message).toContain(name);
    },
  );

  it.each([
    { value: 'true', expected: true },
    { value: 'false', expected: false },
    { value: undefined, expected: false },
  ])('sets diagnosticTasks to $expected when the flag is $value', ({ value, expected }) => {
    const env = validEnv();
    env[ENV.diagnosticTasks] = value;

    expect(loadConfig(env).diagnosticTasks).toBe(expected);
  });

  it.each([undefined, '', ' , '])('lists no per-session roles when the variable is %j', (value) => {
    const env = validEnv();
    env[ENV.iamPerSessionRoles] = value;

    expect(loadConfig(env).iamPerSessionRoles).toEqual([]);
  });

  it('knows the default lane alone, both priorities on the task queue, when infra names no lanes', () => {
    expect(loadConfig(functionEnvironment(RESOURCES)).lanes).toEqual({
      default: { queues: { normal: RESOURCES.queueUrl, high: RESOURCES.queueUrl }, staleAfterSeconds: 2_700 },
    });
  });

  it('is given no per-session role variable by infra when the list is empty', () => {
    expect(functionEnvironment(RESOURCES)).not.toHaveProperty(ENV.iamPerSessionRoles);
  });

  it('turns on diagnostic tasks when infra asks for them', () => {
    expect(loadConfig(functionEnvironment({ ...RESOURCES, diagnosticTasks: true })).diagnosticTasks).toBe(true);
  });

  it('reads the task data bucket and its limits back into the settings they were built from', () => {
    const taskData = {
      inlineMaxBytes: 11,
      maxObjectBytes: 22,
      uploadUrlSeconds: 33,
      downloadUrlSeconds: 44,
      maxArtifacts: 55,
    };
    const env = functionEnvironment({ ...RESOURCES, taskDataBucket: 'offload-data' }, { ...settings, taskData });

    expect(loadConfig(env).taskData).toEqual({ bucket: 'offload-data', ...taskData });
  });

  it('keeps everything inline when infra names no task data bucket', () => {
    expect(loadConfig(validEnv()).taskData).toBeUndefined();
  });

  it.each([ENV.taskDataInlineMaxBytes, ENV.taskDataMaxObjectBytes, ENV.taskDataUploadUrlSeconds])(
    'throws a ConfigError naming %s when a bucket is named without it',
    (name) => {
      const env = functionEnvironment({ ...RESOURCES, taskDataBucket: 'offload-data' });
      delete env[name];

      expect(configErrorOf(env).message).toContain(name);
    },
  );

  it('reads the emulator endpoints of the local stack', () => {
    const env = {
      ...validEnv(),
      [ENV.dynamodbEndpoint]: 'http://127.0.0.1:8000',
      [ENV.sqsEndpoint]: 'http://127.0.0.1:9324',
      [ENV.s3Endpoint]: 'http://127.0.0.1:9324',
    };

    expect(loadConfig(env).endpoints).toEqual({
      dynamodb: 'http://127.0.0.1:8000',
      sqs: 'http://127.0.0.1:9324',
      s3: 'http://127.0.0.1:9324',
    });
  });
});
