import { existsSync, type FSWatcher, watch } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { settings } from '../settings.js';
import { DEV_TOKEN_LIFETIME, deploymentKeyPath, mintDevToken } from './dev-key.js';
import { isLoopback, type LocalStack, startLocalStack } from './local-stack.js';
import { CONSOLE_PATHS } from './ops-console.js';
import { LOCAL_SCHEDULER } from './scheduler-emulator.js';
import { removeLocalState, writeLocalState } from './state-file.js';

/** What `offload dev` takes; see {@link runDev}. */
export interface DevOptions {
  /** The task module: a path, relative to the working directory, of a file that exports `taskTypes`. */
  readonly tasks: string;
  /** 0 picks a free port. @default settings.local.port */
  readonly port?: number;
  /** @default settings.local.host */
  readonly host?: string;
  /** Keep the task table, task data, schedules and keys on disk here. @default in memory, keys in .offload/ */
  readonly dataDir?: string;
  /** Also register the diagnostic task types. @default false */
  readonly diagnosticTasks?: boolean;
  /** Worker Lambda timeout in seconds; leases and the visibility timeout follow it. @default settings.worker.timeoutSeconds */
  readonly workerTimeoutSeconds?: number;
  /** Reload when the task module or a file it imports changes. @default true */
  readonly watch?: boolean;
  /** Accept http and loopback or private callback URLs, to receive callbacks on this machine. @default false */
  readonly allowLocalCallbacks?: boolean;
  /** How long a minute of a rate() schedule lasts here, to watch schedules at work. @default settings.local.scheduleRateMinuteMs */
  readonly rateMinuteMs?: number;
}

export interface DevIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Stops the stack (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** How long file changes settle before a reload: an editor's save is often several writes. */
const RELOAD_DEBOUNCE_MS = 150;

/**
 * `offload dev`: the local stack (emulated DynamoDB and SQS, an HTTP front shaped like API Gateway,
 * the functions in their own execution environments) running the task module `options.tasks`,
 * TypeScript loaded as is. Prints the URL and a dev token, reloads the task module when its files
 * change, and runs until `io.signal` aborts. Resolves with the exit code.
 */
export async function runDev(options: DevOptions, io: DevIo): Promise<number> {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 5)) {
    io.stderr.write(
      `offload dev: needs Node 22.5 or later (its SQS emulator stores messages with node:sqlite); this is Node ${process.versions.node}.\n`,
    );
    return 2;
  }
  const taskModule = isAbsolute(options.tasks) ? options.tasks : resolve(options.tasks);
  if (!existsSync(taskModule)) {
    io.stderr.write(`offload dev: no task module at ${taskModule} (--tasks takes a file that exports taskTypes)\n`);
    return 2;
  }
  const workerTimeout = options.workerTimeoutSeconds ?? settings.worker.timeoutSeconds;
  const host = options.host ?? settings.local.host;
  const watchFiles = options.watch ?? true;

  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      settings: {
        ...settings,
        worker: { ...settings.worker, timeoutSeconds: workerTimeout },
        local: { ...settings.local, scheduleRateMinuteMs: options.rateMinuteMs ?? settings.local.scheduleRateMinuteMs },
      },
      port: options.port ?? settings.local.port,
      host,
      dataDir: options.dataDir,
      diagnosticTasks: options.diagnosticTasks,
      taskModule,
      reloadableTasks: watchFiles,
      allowLocalCallbacks: options.allowLocalCallbacks,
      logLevel: 'WARN',
    });
  } catch (error) {
    io.stderr.write(`offload dev: ${(error as Error).message}\n`);
    return 1;
  }

  const token = await mintDevToken(stack.devKey, { sub: 'dev' });
  const dataDirOption = options.dataDir ? ` --data-dir ${options.dataDir}` : '';
  const consoleLine = isLoopback(host)
    ? `Console (metrics, queue depth, tasks; no token needed): ${stack.url}${CONSOLE_PATHS.page}`
    : 'Console: off (it needs no token, so it is served on loopback only)';
  const example = stack.taskTypeNames[0] ?? '<type>';
  io.stdout.write(`offload local stack listening on ${stack.url}
Task types (${displayPath(taskModule)}): ${stack.taskTypeNames.join(', ') || 'none'}${watchFiles ? ' (reloaded when their files change)' : ''}
Lanes: ${stack.lanes.map((lane) => `${lane.name} (${lane.timeoutSeconds} s, ${lane.memoryMiB} MiB, ${lane.normalConcurrency} + ${lane.highPriorityConcurrency} high-priority at once)`).join(', ')}
${consoleLine}

Dev token for owner "dev" (valid ${DEV_TOKEN_LIFETIME}; another: offload token --sub NAME${dataDirOption}):
  TOKEN=${token}

Try it (put in the payload your type's schema asks for: GET ${stack.url}/openapi.json lists them):
  curl -s -X POST ${stack.url}/tasks -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"type":"${example}","payload":{}}'
  curl -s ${stack.url}/tasks/<taskId> -H "authorization: Bearer $TOKEN"

Emulators: DynamoDB ${stack.endpoints.dynamodb}, SQS and S3 ${stack.endpoints.sqs}, Scheduler ${stack.endpoints.scheduler}. Ctrl-C stops.
`);
  await writeLocalState({
    pid: process.pid,
    url: stack.url,
    region: 'us-east-1',
    endpoints: stack.endpoints,
    tableName: stack.resources.tableName,
    queueUrl: stack.resources.queueUrl,
    // What purge-owner --local erases besides tasks: the owner's objects and schedules.
    taskDataBucket: stack.resources.taskDataBucket,
    deploymentKeyFile: deploymentKeyPath(options.dataDir),
    scheduleTableName: stack.resources.scheduleTableName,
    scheduleGroupName: LOCAL_SCHEDULER.groupName,
    lanes: stack.resources.laneTable,
  });

  const watcher = watchFiles ? watchTaskFiles(stack, io) : undefined;
  await new Promise<void>((done) => {
    if (io.signal?.aborted) return done();
    io.signal?.addEventListener('abort', () => done(), { once: true });
  });
  io.stdout.write('\nstopping…\n');
  watcher?.close();
  await removeLocalState();
  await stack.stop();
  return 0;
}

/**
 * Watches the task module's files (those it imports included, node_modules excluded) and reloads
 * the stack when one changes. A module that no longer loads, or whose types no longer fit the
 * settings, is reported and the previous code keeps running.
 */
function watchTaskFiles(stack: LocalStack, io: DevIo): { close(): void } {
  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let reloading = Promise.resolve();
  let closed = false;

  const reload = () => {
    reloading = reloading.then(async () => {
      if (closed) return;
      try {
        await stack.reloadTasks();
        io.stdout.write(`[offload dev] task module reloaded: ${stack.taskTypeNames.join(', ') || 'no task types'}\n`);
      } catch (error) {
        io.stderr.write(
          `[offload dev] task module not reloaded, the previous version keeps running: ${(error as Error).message}\n`,
        );
      }
      watchAll();
    });
  };
  const watchAll = () => {
    for (const watcher of watchers) watcher.close();
    if (closed) return;
    watchers = stack.taskFiles.flatMap((file) => {
      try {
        return [
          watch(file, () => {
            clearTimeout(timer);
            timer = setTimeout(reload, RELOAD_DEBOUNCE_MS);
          }),
        ];
      } catch {
        return []; // Deleted since it was imported: the next reload reports the broken import.
      }
    });
  };
  watchAll();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

function displayPath(file: string): string {
  const path = relative(process.cwd(), file);
  return path.startsWith('..') ? file : path;
}
