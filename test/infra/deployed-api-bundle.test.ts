import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offloadFunction } from '../../infra/constructs/offload-function.js';
import { functionEnvironment } from '../../infra/function-environment.js';
import { settings } from '../../infra/settings.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { ENV } from '../../shared/env-names.js';
import { httpApiEvent } from '../support/lambda-events.js';

const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
/** 1-based line of the first line of `path` that contains `text`. */
const lineOf = (path: string, text: string) =>
  readFileSync(repoFile(path), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(text)) + 1;

/** A port nothing listens on: taken, then released, so a connection to it is refused. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Imports the bundle as the Lambda runtime does, invokes the handler once, and exits. */
const INVOKE = `
const [bundle, event] = process.argv.slice(1);
const { handler } = await import(bundle);
const context = {
  functionName: 'offload-api', functionVersion: '$LATEST', memoryLimitInMB: '512', awsRequestId: 'request-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:offload-api',
  getRemainingTimeInMillis: () => 10000,
};
const result = await handler(JSON.parse(event), context);
process.stderr.write('status ' + result.statusCode + '\\n');
`;

const TASK_ID = '4f0c6a8e-0b5e-4d3e-9d5f-6f3f6b0e2a11';
/** GET /tasks/{id}: one DynamoDB Query, nothing else. */
const getTaskEvent = httpApiEvent({
  routeKey: API_ROUTES.getTask,
  path: `/tasks/${TASK_ID}`,
  pathParameters: { taskId: TASK_ID },
  jwtSub: 'owner',
});

interface LogLine {
  readonly message?: string;
  readonly error?: { readonly location?: string; readonly stack?: string };
}

describe('the API function as deployed', { timeout: 60_000 }, () => {
  const outdir = mkdtempSync(join(tmpdir(), 'offload-deployed-api-'));
  let bundle: string;
  let deployedEnvironment: Record<string, string>;

  beforeAll(() => {
    // Built exactly as the stack builds the API function: the construct, its bundling and its environment.
    const app = new App({ outdir });
    const stack = new Stack(app, 'DeployedApi');
    const fn = offloadFunction(stack, {
      entry: repoFile('functions/api/handler.ts'),
      description: 'API',
      timeoutSeconds: settings.api.timeoutSeconds,
      memoryMiB: settings.api.memoryMiB,
      reservedConcurrency: settings.api.reservedConcurrency,
      // A key file instead of the secret: the test is about the table's error, not Secrets Manager's.
      environment: functionEnvironment({
        tableName: 'offload-tasks',
        queueUrl: 'https://sqs.invalid/1/tasks',
        deploymentKeyFile: join(outdir, 'deployment-key'),
      }),
    });
    app.synth();
    const assetPath = (fn.node.findChild('Code') as unknown as { assetPath: string }).assetPath;
    bundle = pathToFileURL(join(outdir, assetPath, 'index.mjs')).href;
    const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    deployedEnvironment = resource?.Properties.Environment.Variables;
    // esbuild bundles the function here: on a loaded 2-core machine that takes longer than a hook's default 10 s.
  }, 60_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /**
   * One invocation in a fresh Node process with the template's environment, what the Lambda service
   * adds, and a DynamoDB endpoint that refuses connections. Returns every JSON log line and the status.
   */
  async function invoke(extraEnvironment: Record<string, string> = {}) {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '--eval', INVOKE, bundle, JSON.stringify(getTaskEvent)],
      {
        env: {
          PATH: process.env.PATH,
          ...deployedEnvironment,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_LAMBDA_FUNCTION_NAME: 'offload-api',
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
          [ENV.dynamodbEndpoint]: `http://127.0.0.1:${await refusingPort()}`,
          ...extraEnvironment,
        },
      },
    );
    // Powertools writes warnings and errors to stderr; Lambda sends both streams to CloudWatch.
    const lines = `${stdout}\n${stderr}`
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
    return { lines, status: /status (\d+)/.exec(stderr)?.[1] };
  }

  it('logs an error with frames naming our functions, TypeScript files and lines', async () => {
    const { lines, status } = await invoke();

    expect(status).toBe('503');
    const logged = lines.find((line) => line.message === 'dependency unavailable');
    const stack = logged?.error?.stack ?? '';
    // The frame where the adapter turns the refused connection into a 503, at its line in the source.
    const line = lineOf('shared/aws/dependency-error.ts', 'new DependencyUnavailableError(');
    expect(stack).toContain(`at toDependencyError (shared/aws/dependency-error.ts:${line}:`);
    expect(stack).toMatch(/\(shared\/aws\/dynamo-task-store\.ts:\d+:\d+\)/);
    expect(stack).toMatch(/at async getTask \(functions\/api\/get-task\.ts:\d+:\d+\)/);
    expect(stack).toMatch(/at async handler \(functions\/api\/handler\.ts:\d+:\d+\)/);
    expect(logged?.error?.location).toBe(`shared/aws/dependency-error.ts:${line}`);
  });

  it('sends the SDK calls of a sampled invocation to the X-Ray daemon as subsegments of its trace', async () => {
    // The daemon's side: UDP datagrams, a JSON header line and then a segment document each.
    const daemon = createSocket('udp4');
    const documents: Record<string, unknown>[] = [];
    daemon.on('message', (message) => documents.push(JSON.parse(message.toString().split('\n')[1] ?? '{}')));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const root = '1-5759e988-bd862e3fe1be46a994272793';
    const parent = '53995c3f42cd8ad8';

    try {
      // What Lambda sets for an invocation X-Ray samples, with active tracing on.
      const { status } = await invoke({
        _X_AMZN_TRACE_ID: `Root=${root};Parent=${parent};Sampled=1`,
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
        LAMBDA_TASK_ROOT: dirname(fileURLToPath(bundle)),
      });
      await expect.poll(() => documents.length).toBeGreaterThan(0);

      expect(status).toBe('503');
      expect(documents).toContainEqual(
        expect.objectContaining({
          type: 'subsegment',
          name: 'DynamoDB',
          namespace: 'aws',
          trace_id: root,
          parent_id: parent,
          aws: expect.objectContaining({ operation: 'Query' }),
        }),
      );
    } finally {
      daemon.close();
    }
  });
});
