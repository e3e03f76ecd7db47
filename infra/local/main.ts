import { parseArgs } from 'node:util';
import { settings } from '../settings.js';
import { startLocalStack } from './local-stack.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    'diagnostic-tasks': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`Usage: npm start -- [--port N] [--host H] [--data-dir DIR] [--diagnostic-tasks]

  --port N             HTTP port (default: $PORT or ${settings.local.port}; 0 picks a free one)
  --host H             interface to bind (default: ${settings.local.host})
  --data-dir DIR       keep the task table on disk in DIR (default: in memory)
  --diagnostic-tasks   also register the fail, flaky and crash task types`);
  process.exit(0);
}

const port = Number(values.port ?? process.env.PORT ?? settings.local.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`Invalid port: ${values.port ?? process.env.PORT}`);
  process.exit(2);
}

const stack = await startLocalStack({
  port,
  host: values.host,
  dataDir: values['data-dir'],
  diagnosticTasks: values['diagnostic-tasks'],
  logLevel: 'WARN',
});

console.log(`offload local stack listening on ${stack.url}

Try it:
  curl -s -X POST ${stack.url}/tasks -H 'content-type: application/json' -d '{"type":"echo","payload":{"hello":"world"}}'
  curl -s ${stack.url}/tasks/<taskId>

Emulators: DynamoDB ${stack.endpoints.dynamodb}, SQS ${stack.endpoints.sqs}. Ctrl-C stops.`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
