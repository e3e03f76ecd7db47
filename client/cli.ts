import { readFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LIST_PAGE_SIZE } from '../shared/api-routes.js';
import { TaskStatus } from '../shared/task.js';
import {
  OffloadApiError,
  OffloadClientError,
  TaskCancelledError,
  TaskFailedError,
  TaskWaitTimeoutError,
} from './errors.js';
import { type BatchSubmission, OffloadClient } from './offload-client.js';
import type { TaskTypeMap, TaskView } from './task-types.js';

/** Exit codes of `offload`; documented in the README. */
export const EXIT = {
  ok: 0,
  taskFailed: 1,
  usage: 2,
  taskCancelled: 3,
  apiError: 4,
  waitTimeout: 5,
  interrupted: 130,
} as const;

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** Where the CLI reads and writes: the process in bin/offload.mjs, buffers in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  /** Progress and errors. A TTY gets a progress bar, anything else plain lines. */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readStdin?: () => Promise<string>;
  /** Aborts waiting and requests (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

class UsageError extends Error {}

const STATUSES: readonly TaskStatus[] = Object.values(TaskStatus);

const integer = (min: number, max: number) => (value: string) => {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
  }
  return number;
};

/** Runs `offload <args>` and resolves with the exit code; never calls process.exit. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('offload')
    .description('Submit offload tasks, follow them and fetch their results; run them locally with offload dev.')
    .option('--url <url>', `API base URL (env OFFLOAD_URL, default ${DEFAULT_URL}); https unless local`)
    .option('--token-stdin', 'read the bearer token from stdin (default: env OFFLOAD_TOKEN)')
    .option('--insecure-http', 'allow plain http to a host other than this machine (exposes the token)')
    // Not offered: a token on the command line shows in `ps` and shell history. Explained when used.
    .addOption(new Option('--token <token>').hideHelp())
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError();

  let stdinToken: Promise<string> | undefined;
  const tokenFromStdin = () => {
    stdinToken ??= (async () => {
      if (!io.readStdin) throw new UsageError('Cannot read the token from stdin here.');
      const token = (await io.readStdin()).split('\n')[0]?.trim() ?? '';
      if (!token) throw new UsageError('--token-stdin: stdin held no token.');
      return token;
    })();
    return stdinToken;
  };
  const client = async () => {
    const options = program.opts<{ url?: string; token?: string; tokenStdin?: boolean; insecureHttp?: boolean }>();
    if (options.token !== undefined) {
      throw new UsageError(
        '--token is not supported: a token on the command line shows in ps and shell history. ' +
          'Set OFFLOAD_TOKEN, or pipe it in with --token-stdin.',
      );
    }
    // Any type and payload: the server validates them; the typed client is for code.
    return new OffloadClient<TaskTypeMap>({
      baseUrl: options.url ?? io.env.OFFLOAD_URL ?? DEFAULT_URL,
      token: options.tokenStdin ? await tokenFromStdin() : io.env.OFFLOAD_TOKEN,
      allowInsecureHttp: options.insecureHttp ?? false,
      fetch: io.fetch,
    });
  };
  const print = (value: unknown) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  const wait = async (id: string, options: { json?: boolean; timeout?: number }) => {
    exitCode = await waitAndReport(await client(), id, options, io);
  };

  program
    .command('submit')
    .description('submit a task; prints its id, or its result with --wait; or many with --batch')
    .argument('[type]', 'task type, e.g. echo')
    .argument('[payload]', 'JSON payload, @file to read it from a file, @- from stdin', '{}')
    .option(
      '--batch <file>',
      'submit every line of a JSON Lines file ({"type","payload","delaySeconds","idempotencyKey"}), - for stdin',
    )
    .option('--wait', 'wait for the task to finish and print its result')
    .option('--json', 'print machine-readable JSON only')
    .option('--idempotency-key <key>', 'same key and payload give back the same task (default: a random key)')
    .addOption(new Option('--delay <seconds>', 'delay before the task may run (0-900)').argParser(integer(0, 900)))
    .addOption(new Option('--timeout <seconds>', 'with --wait: give up after this long').argParser(integer(1, 86_400)))
    .action(async (type: string | undefined, payloadArg: string, options: SubmitCliOptions) => {
      if (options.batch !== undefined) {
        if (type !== undefined) throw new UsageError('--batch takes its tasks from the file: give no type or payload.');
        if (options.wait || options.idempotencyKey || options.delay !== undefined) {
          throw new UsageError('--batch takes --json only: keys and delays go on each line of the file.');
        }
        if (options.batch === '-' && program.opts<{ tokenStdin?: boolean }>().tokenStdin) {
          throw new UsageError('The batch and the token cannot both come from stdin: use OFFLOAD_TOKEN.');
        }
        exitCode = await submitBatchFile(await client(), options.batch, options, io);
        return;
      }
      if (type === undefined) throw new UsageError('submit needs a task type (or --batch FILE).');
      if (payloadArg === '@-' && program.opts<{ tokenStdin?: boolean }>().tokenStdin) {
        throw new UsageError('The payload and the token cannot both come from stdin: use OFFLOAD_TOKEN or @file.');
      }
      const api = await client();
      const payload = await parsePayload(payloadArg, io);
      const task = await api.submit(type, payload, {
        idempotencyKey: options.idempotencyKey,
        delaySeconds: options.delay,
        signal: io.signal,
      });
      if (options.wait) return wait(task.id, options);
      if (options.json) print(await task.status({ signal: io.signal }));
      else io.stdout.write(`${task.id}\n`);
    });

  program
    .command('status')
    .description('show a task')
    .argument('<id>', 'task id')
    .option('--json', 'print machine-readable JSON only')
    .action(async (id: string, options: { json?: boolean }) => {
      const task = await (await client()).get(id, { signal: io.signal });
      if (options.json) print(task);
      else io.stdout.write(describeTask(task));
    });

  program
    .command('wait')
    .description('wait for a task to finish and print its result')
    .argument('<id>', 'task id')
    .option('--json', 'print machine-readable JSON only')
    .addOption(new Option('--timeout <seconds>', 'give up after this long').argParser(integer(1, 86_400)))
    .action(wait);

  program
    .command('cancel')
    .description('cancel a queued task, or ask a running one to stop')
    .argument('<id>', 'task id')
    .option('--json', 'print machine-readable JSON only')
    .action(async (id: string, options: { json?: boolean }) => {
      const task = await (await client()).task(id).cancel({ signal: io.signal });
      if (options.json) print(task);
      else
        io.stdout.write(`${task.taskId} ${task.cancelRequested ? `${task.status}, cancel requested` : task.status}\n`);
    });

  program
    .command('list')
    .description('list your tasks, newest first')
    .addOption(new Option('--status <status>', 'only tasks in this status').choices(STATUSES))
    .addOption(
      new Option('--limit <n>', `page size (1-${LIST_PAGE_SIZE.max})`).argParser(integer(1, LIST_PAGE_SIZE.max)),
    )
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .option('--json', 'print machine-readable JSON only')
    .action(async (options: { status?: TaskStatus; limit?: number; cursor?: string; json?: boolean }) => {
      const listing = await (await client()).list({ ...options, signal: io.signal });
      if (options.json) return void print(listing);
      for (const task of listing.tasks) {
        io.stdout.write(`${task.taskId}  ${task.status.padEnd(9)}  ${task.type.padEnd(12)}  ${task.createdAt}\n`);
      }
      if (listing.nextCursor) io.stderr.write(`more: offload list --cursor ${listing.nextCursor}\n`);
    });

  program
    .command('dev')
    .description('run the local stack (emulated AWS) on your task module, reloading it when it changes')
    .requiredOption('--tasks <file>', 'task module: a file that exports taskTypes (TypeScript or JavaScript)')
    .addOption(
      new Option('--port <n>', 'HTTP port; 0 picks a free one (default: $PORT or 3000)').argParser(integer(0, 65_535)),
    )
    .option('--host <host>', 'interface to bind (default: 127.0.0.1)')
    .option('--data-dir <dir>', 'keep tasks and keys on disk in this folder (default: in memory, keys in .offload/)')
    .option('--diagnostic-tasks', 'also register the diagnostic task types (fail, flaky, crash, ledger)')
    .addOption(
      new Option('--worker-timeout <seconds>', 'worker Lambda timeout; leases and visibility follow it').argParser(
        integer(1, 900),
      ),
    )
    .option('--no-watch', 'do not reload the task module when its files change')
    .action(async (options: DevCliOptions) => {
      // Loaded only here: the local stack brings the emulators and the AWS SDK, which the client never needs.
      const { runDev } = await import('../infra/local/dev.js');
      const envPort = io.env.PORT === undefined ? undefined : integer(0, 65_535)(io.env.PORT);
      exitCode = await runDev(
        {
          tasks: options.tasks,
          port: options.port ?? envPort,
          host: options.host,
          dataDir: options.dataDir,
          diagnosticTasks: options.diagnosticTasks,
          workerTimeoutSeconds: options.workerTimeout,
          watch: options.watch,
        },
        { stdout: io.stdout, stderr: io.stderr, signal: io.signal },
      );
    });

  program
    .command('token')
    .description('print a token the local stack (offload dev) accepts, for owner NAME')
    .requiredOption('--sub <name>', 'the caller: its tasks belong to owner "jwt:NAME"')
    .option('--data-dir <dir>', 'the key of a stack started with the same --data-dir (default: .offload/)')
    .option('--expires-in <span>', 'lifetime, e.g. 30m, 12h, 7d (default: 12h)')
    .option('--scope <scopes>', 'space-separated OAuth scopes (the scope claim)')
    .action(async (options: { sub: string; dataDir?: string; expiresIn?: string; scope?: string }) => {
      const { DEV_TOKEN_LIFETIME, devKeyPath, loadOrCreateDevKey, mintDevToken } = await import(
        '../infra/local/dev-key.js'
      );
      const key = await loadOrCreateDevKey(devKeyPath(options.dataDir));
      const token = await mintDevToken(key, {
        sub: options.sub,
        expiresAt: options.expiresIn ?? DEV_TOKEN_LIFETIME,
        scope: options.scope,
      });
      io.stdout.write(`${token}\n`);
    });

  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

interface DevCliOptions {
  readonly tasks: string;
  readonly port?: number;
  readonly host?: string;
  readonly dataDir?: string;
  readonly diagnosticTasks?: boolean;
  readonly workerTimeout?: number;
  readonly watch: boolean;
}

interface SubmitCliOptions {
  readonly batch?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
  readonly idempotencyKey?: string;
  readonly delay?: number;
  readonly timeout?: number;
}

/**
 * `submit --batch FILE`: one task per line (blank lines skipped), sent with submitMany; prints one line
 * per task in order (its id, or `error CODE message`), or with --json `{"results": [...]}`. Exit 0 when
 * every task was accepted, 4 when some were not.
 */
async function submitBatchFile(
  client: OffloadClient<TaskTypeMap>,
  file: string,
  options: { json?: boolean },
  io: CliIo,
): Promise<number> {
  let text: string;
  try {
    if (file === '-') {
      if (!io.readStdin) throw new Error('stdin cannot be read here');
      text = await io.readStdin();
    } else text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const items = text.split('\n').flatMap((line, index) => {
    if (line.trim() === '') return [];
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch {
      throw new UsageError(`${file} line ${index + 1} is not JSON.`);
    }
    if (typeof item !== 'object' || item === null || typeof (item as { type?: unknown }).type !== 'string') {
      throw new UsageError(`${file} line ${index + 1} is not a task: {"type": "...", "payload": ...}.`);
    }
    return [item as BatchSubmission];
  });
  if (items.length === 0) throw new UsageError(`${file} holds no task.`);
  const results = await client.submitMany(items, { signal: io.signal });
  if (options.json) {
    const view = results.map((result) =>
      result.ok ? { taskId: result.task.id, ...(result.replayed && { replayed: true }) } : { error: result.error },
    );
    io.stdout.write(`${JSON.stringify({ results: view }, null, 2)}\n`);
  } else {
    for (const result of results) {
      io.stdout.write(result.ok ? `${result.task.id}\n` : `error ${result.error.code} ${result.error.message}\n`);
    }
  }
  const refused = results.filter((result) => !result.ok).length;
  if (refused > 0) io.stderr.write(`offload: ${refused} of ${results.length} tasks were not accepted\n`);
  return refused > 0 ? EXIT.apiError : EXIT.ok;
}

/** Follows a task to its end: progress on stderr, the result (or, with --json, the task) on stdout. */
async function waitAndReport(
  client: OffloadClient<TaskTypeMap>,
  id: string,
  options: { json?: boolean; timeout?: number },
  io: CliIo,
): Promise<number> {
  const progress = options.json ? undefined : progressDisplay(io);
  try {
    const result = await client.task(id).result({
      signal: io.signal,
      timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
      onProgress: progress?.update,
    });
    progress?.stop();
    if (options.json) io.stdout.write(`${JSON.stringify(await client.get(id, { signal: io.signal }), null, 2)}\n`);
    else io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  } catch (error) {
    progress?.stop();
    if (options.json && (error instanceof TaskFailedError || error instanceof TaskCancelledError)) {
      io.stdout.write(`${JSON.stringify(error.task, null, 2)}\n`);
    }
    throw error;
  }
}

interface ProgressDisplay {
  readonly update: (task: TaskView) => void;
  readonly stop: () => void;
}

/** A cli-progress bar on a terminal; elsewhere (CI logs, pipes) one plain line per change. */
function progressDisplay(io: CliIo): ProgressDisplay {
  const percentOf = (task: TaskView) => (task.status === 'SUCCEEDED' ? 100 : (task.progress?.percent ?? 0));
  // A finished task keeps its last progress message, which no longer says anything.
  const messageOf = (task: TaskView) =>
    task.status === 'QUEUED' || task.status === 'RUNNING'
      ? [task.cancelRequested ? 'cancel requested' : '', task.progress?.message ?? ''].filter(Boolean).join(' - ')
      : '';
  if (!io.stderr.isTTY) {
    return {
      update: (task) => {
        const percent = task.progress || task.status === 'SUCCEEDED' ? ` ${Math.round(percentOf(task))}%` : '';
        const message = messageOf(task);
        io.stderr.write(`${task.taskId} ${task.status}${percent}${message ? ` ${message}` : ''}\n`);
      },
      stop: () => {},
    };
  }
  const bar = new SingleBar(
    {
      format: '{bar} {percentage}% | {status} {message}',
      stream: io.stderr as NodeJS.WritableStream,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update: (task) => {
      const payload = { status: task.status, message: messageOf(task) };
      if (!started) {
        started = true;
        bar.start(100, percentOf(task), payload);
      } else bar.update(percentOf(task), payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

async function parsePayload(argument: string, io: CliIo): Promise<unknown> {
  let text = argument;
  if (argument === '@-') {
    if (!io.readStdin) throw new UsageError('Cannot read the payload from stdin here.');
    text = await io.readStdin();
  } else if (argument.startsWith('@')) {
    try {
      text = await readFile(argument.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`Cannot read ${argument.slice(1)}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`The payload is not valid JSON: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`);
  }
}

function describeTask(task: TaskView): string {
  const lines = [`${task.taskId}  ${task.type}  ${task.status}  attempts ${task.attempts}/${task.maxAttempts}`];
  if (task.progress)
    lines.push(`progress: ${task.progress.percent}%${task.progress.message ? ` ${task.progress.message}` : ''}`);
  if (task.cancelRequested) lines.push('cancel requested');
  if (task.lastError) lines.push(`last error: ${task.lastError.code}: ${task.lastError.message}`);
  if (task.error) lines.push(`error: ${task.error.code}: ${task.error.message}`);
  if (task.result !== undefined) lines.push(`result: ${JSON.stringify(task.result)}`);
  return `${lines.join('\n')}\n`;
}

function reportError(error: unknown, io: CliIo): number {
  const fail = (code: number, message: string) => {
    io.stderr.write(`offload: ${message}\n`);
    return code;
  };
  if (error instanceof CommanderError) {
    // Help and --version exit 0; commander has already printed its message.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (io.signal?.aborted) return fail(EXIT.interrupted, 'interrupted');
  if (error instanceof UsageError) return fail(EXIT.usage, error.message);
  if (error instanceof TaskFailedError) {
    return fail(EXIT.taskFailed, `task ${error.taskId} FAILED: ${error.code}: ${error.message}`);
  }
  if (error instanceof TaskCancelledError) return fail(EXIT.taskCancelled, `task ${error.taskId} was CANCELLED`);
  if (error instanceof TaskWaitTimeoutError) return fail(EXIT.waitTimeout, error.message);
  if (error instanceof OffloadApiError) {
    const details = error.details.map((detail) => `\n  ${detail.path}: ${detail.message}`).join('');
    const requestId = error.requestId ? ` (requestId ${error.requestId})` : '';
    return fail(EXIT.apiError, `${error.status} ${error.code}: ${error.message}${requestId}${details}`);
  }
  if (error instanceof OffloadClientError && ['InsecureUrl', 'InvalidUrl'].includes(error.code)) {
    return fail(EXIT.usage, `${error.code}: ${error.message}`);
  }
  if (error instanceof OffloadClientError) return fail(EXIT.apiError, `${error.code}: ${error.message}`);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return fail(EXIT.apiError, `${(error as Error).message}${cause?.message ? ` (${cause.message})` : ''}`);
}
