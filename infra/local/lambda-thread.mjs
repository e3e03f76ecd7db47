// One execution environment of a local Lambda function: a worker thread that loads the handler
// module once (the cold start) and runs one invocation at a time, warm, until the main thread ends
// it, as Lambda ends an environment whose invocation outlives its timeout. Plain JavaScript because
// it must register tsx itself: the thread does not inherit the loader of whoever started the stack,
// and the task module it loads may be TypeScript.
import { parentPort, workerData } from 'node:worker_threads';
import { register, tsImport } from 'tsx/esm/api';

register();

const { handlerModule, factory, taskModule, setupModule, setupOptions, functionName, memoryMiB } = workerData;
const report = (payload) => parentPort.postMessage({ kind: 'report', payload });
// Measuring and fault-injecting tools attach to the SDK clients of this thread before the handler builds them.
if (setupModule) await (await import(setupModule)).setUpThread(setupOptions, report);
const { lambdaContext } = await import('./lambda-context.js');
const loaded = await import(handlerModule);
// As the deployed entry does (infra/lambda-entry.ts): the factory builds the handler at init, from the task types.
// tsImport loads the task module as its project is set up, ES module or CommonJS, TypeScript or not.
const taskTypes = taskModule ? (await tsImport(taskModule, import.meta.url)).taskTypes : undefined;
const handler = factory ? loaded[factory](taskTypes) : loaded.handler;

parentPort.on('message', async ({ id, event, deadline }) => {
  try {
    const result = await handler(event, lambdaContext(functionName, deadline - Date.now(), memoryMiB));
    parentPort.postMessage({ kind: 'result', id, result });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', id, message: String(error?.stack ?? error) });
  }
});
parentPort.postMessage({ kind: 'ready' });
