import { parseArgs } from 'node:util';
import { settings } from '../settings.js';
import { DEV_TOKEN_LIFETIME, deploymentKeyPath, mintDevToken } from './dev-key.js';
import { isLoopback, startLocalStack } from './local-stack.js';
import { CONSOLE_PATHS } from './ops-console.js';
import { removeLocalState, writeLocalState } from './state-file.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    'diagnostic-tasks': { type: 'boolean', default: false },
    'worker-timeout': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`Usage: npm start -- [--port N] [--host H] [--data-dir DIR] [--diagnostic-tasks]

  --port N             HTTP port (default: $PORT or ${settings.local.port}; 0 picks a free one)
  --host H             interface to bind (default: ${settings.local.host})
  --data-dir DIR       keep the task table on disk in DIR (default: in memory)
  --diagnostic-tasks   also register the fail, flaky and crash task types
  --worker-timeout S   worker Lambda timeout in seconds (default: ${settings.worker.timeoutSeconds}); leases and the
                       visibility timeout follow it, so a short one makes crash recovery quick to watch`);
  process.exit(0);
}

const port = Number(values.port ?? process.env.PORT ?? settings.local.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`Invalid port: ${values.port ?? process.env.PORT}`);
  process.exit(2);
}

const workerTimeout = Number(values['worker-timeout'] ?? settings.worker.timeoutSeconds);
if (!Number.isInteger(workerTimeout) || workerTimeout < 1 || workerTimeout > 900) {
  console.error(`Invalid --worker-timeout (1-900 seconds): ${values['worker-timeout']}`);
  process.exit(2);
}

const stack = await startLocalStack({
  settings: { ...settings, worker: { ...settings.worker, timeoutSeconds: workerTimeout } },
  port,
  host: values.host,
  dataDir: values['data-dir'],
  diagnosticTasks: values['diagnostic-tasks'],
  logLevel: 'WARN',
});

const token = await mintDevToken(stack.devKey, { sub: 'dev' });
const dataDirOption = values['data-dir'] ? ` --data-dir ${values['data-dir']}` : '';

const consoleLine = isLoopback(values.host ?? settings.local.host)
  ? `Console (metrics, queue depth, tasks; no token needed): ${stack.url}${CONSOLE_PATHS.page}`
  : 'Console: off (it needs no token, so it is served on loopback only)';

console.log(`offload local stack listening on ${stack.url}
${consoleLine}

Dev token for owner "dev" (valid ${DEV_TOKEN_LIFETIME}; another: npm run -s token -- --sub NAME${dataDirOption}):
  TOKEN=${token}

Try it:
  curl -s -X POST ${stack.url}/tasks -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"type":"echo","payload":{"hello":"world"}}'
  curl -s ${stack.url}/tasks/<taskId> -H "authorization: Bearer $TOKEN"

Emulators: DynamoDB ${stack.endpoints.dynamodb}, SQS ${stack.endpoints.sqs}. Ctrl-C stops.`);

await writeLocalState({
  pid: process.pid,
  url: stack.url,
  region: 'us-east-1',
  endpoints: stack.endpoints,
  tableName: stack.resources.tableName,
  queueUrl: stack.resources.queueUrl,
  taskDataBucket: stack.resources.taskDataBucket,
  deploymentKeyFile: deploymentKeyPath(values['data-dir']),
});

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await removeLocalState();
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
