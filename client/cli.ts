import { readFile, writeFile } from 'node:fs/promises';
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
import type { ScheduleView, TaskTypeMap, TaskView } from './task-types.js';

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
  const wait = async (id: string, options: WaitCliOptions) => {
    exitCode = await waitAndReport(await client(), id, options, io);
  };

  program
    .command('submit')
    .description('submit a task; prints its id, or its result with --wait; or many with --batch')
    .argument('[type]', 'task type, e.g. echo')
    .argument('[payload]', 'JSON payload, @file to read it from a file, @- from stdin', '{}')
    .option('--payload-file <file>', 'read the JSON payload from a file (one too large for a request is uploaded)')
    .option(
      '--batch <file>',
      'submit every line of a JSON Lines file ({"type","payload","delaySeconds","idempotencyKey"}), - for stdin',
    )
    .option('--wait', 'wait for the task to finish and print its result')
    .option('--output <file>', 'with --wait: write the result to a file instead of stdout')
    .option('--json', 'print machine-readable JSON only')
    .option('--idempotency-key <key>', 'same key and payload give back the same task (default: a random key)')
    .option('--callback-url <url>', 'POST the signed terminal event here (https to a public host)')
    .addOption(new Option('--delay <seconds>', 'delay before the task may run (0-900)').argParser(integer(0, 900)))
    .option('--run-at <time>', 'start no earlier than this ISO 8601 time, up to a year ahead')
    .addOption(
      new Option('--priority <priority>', 'high: ahead of any backlog (default: normal)').choices(['normal', 'high']),
    )
    .option('--lane <lane>', "run in this lane instead of the task type's own")
    .addOption(new Option('--timeout <seconds>', 'with --wait: give up after this long').argParser(integer(1, 86_400)))
    .action(async (type: string | undefined, payloadArg: string, options: SubmitCliOptions, command: Command) => {
      if (options.batch !== undefined) {
        if (type !== undefined) throw new UsageError('--batch takes its tasks from the file: give no type or payload.');
        const perTask = [
          options.wait,
          options.output,
          options.payloadFile,
          options.idempotencyKey,
          options.delay,
          options.runAt,
          options.callbackUrl,
          options.priority,
          options.lane,
        ];
        if (perTask.some((option) => option !== undefined)) {
          throw new UsageError('--batch takes --json only: keys, delays and the rest go on each line of the file.');
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
      if (options.payloadFile !== undefined && command.args.length > 1) {
        throw new UsageError('Give the payload as an argument or with --payload-file, not both.');
      }
      if (options.output !== undefined && !options.wait) throw new UsageError('--output needs --wait.');
      const api = await client();
      const payload = await parsePayload(
        options.payloadFile === undefined ? payloadArg : `@${options.payloadFile}`,
        io,
      );
      const task = await api.submit(type, payload, {
        idempotencyKey: options.idempotencyKey,
        delaySeconds: options.delay,
        callbackUrl: options.callbackUrl,
        runAt: options.runAt,
        priority: options.priority,
        lane: options.lane,
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
    .option('--output <file>', 'write the result to a file instead of stdout')
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
    .option(
      '--data-dir <dir>',
      'keep tasks, task data and keys on disk in this folder (default: in memory, keys in .offload/)',
    )
    .option('--diagnostic-tasks', 'also register the diagnostic task types (fail, flaky, crash, ledger, bulk)')
    .addOption(
      new Option('--worker-timeout <seconds>', 'worker Lambda timeout; leases and visibility follow it').argParser(
        integer(1, 900),
      ),
    )
    .option('--no-watch', 'do not reload the task module when its files change')
    .option('--allow-local-callbacks', 'accept http and loopback callback URLs (receivers on this machine)')
    .addOption(
      new Option(
        '--rate-minute-ms <ms>',
        'how long a minute of a rate() schedule lasts here (default 60000)',
      ).argParser(integer(100, 3_600_000)),
    )
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
          allowLocalCallbacks: options.allowLocalCallbacks,
          rateMinuteMs: options.rateMinuteMs,
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

  program
    .command('callbacks')
    .description('completion callbacks')
    .command('secret')
    .description('print your callback signing secret (whsec_…), to verify webhook-signature with')
    .option('--json', 'print machine-readable JSON only')
    .action(async (options: { json?: boolean }) => {
      const secret = await (await client()).callbackSecret({ signal: io.signal });
      if (options.json) print({ secret });
      else io.stdout.write(`${secret}\n`);
    });

  const schedules = program.command('schedules').description('recurring schedules: each firing submits a task');
  const printSchedule = (schedule: ScheduleView, json?: boolean) =>
    json ? print(schedule) : io.stdout.write(describeSchedule(schedule));

  schedules
    .command('create')
    .description('create a schedule')
    .argument('<name>', 'your name for it: 1-64 of A-Z a-z 0-9 . _ -')
    .argument('<expression>', "'cron(minutes hours day-of-month month day-of-week year)' or 'rate(value unit)'")
    .argument('<type>', 'task type each firing submits')
    .argument('[payload]', 'JSON payload, @file or @-', '{}')
    .option('--timezone <zone>', 'IANA time zone the expression is read in (default UTC)')
    .option('--start-at <time>', 'no firing before this ISO 8601 time')
    .option('--end-at <time>', 'no firing at or after this ISO 8601 time')
    .option('--disabled', 'create it disabled')
    .option('--json', 'print machine-readable JSON only')
    .action(async (name: string, expression: string, type: string, payloadArg: string, options: ScheduleCliOptions) => {
      const payload = await parsePayload(payloadArg, io);
      const schedule = await (await client()).schedules.create(
        {
          name,
          expression,
          task: { type, payload },
          ...(options.timezone && { timezone: options.timezone }),
          ...(options.startAt && { startAt: options.startAt }),
          ...(options.endAt && { endAt: options.endAt }),
          ...(options.disabled && { enabled: false }),
        },
        { signal: io.signal },
      );
      printSchedule(schedule, options.json);
    });

  schedules
    .command('list')
    .description('list your schedules, by name')
    .addOption(
      new Option('--limit <n>', `page size (1-${LIST_PAGE_SIZE.max})`).argParser(integer(1, LIST_PAGE_SIZE.max)),
    )
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .option('--json', 'print machine-readable JSON only')
    .action(async (options: { limit?: number; cursor?: string; json?: boolean }) => {
      const listing = await (await client()).schedules.list({ ...options, signal: io.signal });
      if (options.json) return void print(listing);
      for (const schedule of listing.schedules) {
        const next = schedule.enabled ? (schedule.nextRunAt ?? 'no more runs') : 'disabled';
        io.stdout.write(
          `${schedule.name.padEnd(24)}  ${schedule.expression.padEnd(28)}  ${schedule.task.type.padEnd(12)}  ${next}\n`,
        );
      }
      if (listing.nextCursor) io.stderr.write(`more: offload schedules list --cursor ${listing.nextCursor}\n`);
    });

  schedules
    .command('get')
    .description('show a schedule')
    .argument('<name>', 'schedule name')
    .option('--json', 'print machine-readable JSON only')
    .action(async (name: string, options: { json?: boolean }) => {
      printSchedule(await (await client()).schedules.get(name, { signal: io.signal }), options.json);
    });

  schedules
    .command('update')
    .description('change a schedule: only what is given changes')
    .argument('<name>', 'schedule name')
    .option('--expression <expression>', 'a new cron() or rate() expression')
    .option('--timezone <zone>', 'a new IANA time zone')
    .option('--type <type>', 'a new task type (with --payload, or {})')
    .option('--payload <payload>', 'a new JSON payload, @file or @- (with --type)')
    .option('--enable', 'enable it')
    .option('--disable', 'disable it: it fires no more until enabled')
    .option('--json', 'print machine-readable JSON only')
    .action(async (name: string, options: ScheduleUpdateCliOptions) => {
      if (options.enable && options.disable) throw new UsageError('--enable and --disable contradict each other.');
      if (options.payload !== undefined && options.type === undefined) {
        throw new UsageError('--payload needs --type: a schedule’s task is replaced whole.');
      }
      const changes = {
        ...(options.expression && { expression: options.expression }),
        ...(options.timezone && { timezone: options.timezone }),
        ...(options.type && { task: { type: options.type, payload: await parsePayload(options.payload ?? '{}', io) } }),
        ...(options.enable && { enabled: true }),
        ...(options.disable && { enabled: false }),
      };
      if (Object.keys(changes).length === 0) throw new UsageError('Nothing to change: give at least one option.');
      printSchedule(await (await client()).schedules.update(name, changes, { signal: io.signal }), options.json);
    });

  schedules
    .command('delete')
    .description('delete a schedule; the tasks it submitted stay')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => {
      await (await client()).schedules.delete(name, { signal: io.signal });
      io.stdout.write(`deleted ${name}\n`);
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
  readonly allowLocalCallbacks?: boolean;
  readonly rateMinuteMs?: number;
}

interface ScheduleCliOptions {
  readonly timezone?: string;
  readonly startAt?: string;
  readonly endAt?: string;
  readonly disabled?: boolean;
  readonly json?: boolean;
}

interface ScheduleUpdateCliOptions {
  readonly expression?: string;
  readonly timezone?: string;
  readonly type?: string;
  readonly payload?: string;
  readonly enable?: boolean;
  readonly disable?: boolean;
  readonly json?: boolean;
}

/** A schedule in a few lines for people. */
function describeSchedule(schedule: ScheduleView): string {
  const next = schedule.enabled ? (schedule.nextRunAt ?? 'none (past its end)') : 'none (disabled)';
  return [
    `${schedule.name}  ${schedule.expression}  ${schedule.timezone}`,
    `  task: ${schedule.task.type} ${JSON.stringify(schedule.task.payload ?? {})}`,
    `  next run: ${next}`,
    '',
  ].join('\n');
}

interface WaitCliOptions {
  readonly json?: boolean;
  readonly timeout?: number;
  /** Write the result here instead of stdout. */
  readonly output?: string;
}

interface SubmitCliOptions extends WaitCliOptions {
  readonly wait?: boolean;
  readonly idempotencyKey?: string;
  readonly delay?: number;
  readonly runAt?: string;
  readonly callbackUrl?: string;
  readonly priority?: 'normal' | 'high';
  readonly lane?: string;
  readonly payloadFile?: string;
  /** A JSON Lines file of tasks (`-` for stdin), sent with submitMany. */
  readonly batch?: string;
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

/**
 * Follows a task to its end: progress on stderr, the result (or, with --json, the task) on stdout, or
 * the result in the --output file (a result kept in the task data bucket is downloaded by the client).
 */
async function waitAndReport(
  client: OffloadClient<TaskTypeMap>,
  id: string,
  options: WaitCliOptions,
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
    if (options.output !== undefined) {
      const text = JSON.stringify(result);
      try {
        await writeFile(options.output, text);
      } catch (error) {
        throw new UsageError(`Cannot write ${options.output}: ${(error as Error).message}`);
      }
      io.stderr.write(`${id} result written to ${options.output} (${Buffer.byteLength(text)} bytes)\n`);
    }
    if (options.json) io.stdout.write(`${JSON.stringify(await client.get(id, { signal: io.signal }), null, 2)}\n`);
    else if (options.output === undefined) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
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
  if (task.resultUrl !== undefined)
    lines.push(`result: too large to show here (offload wait ${task.taskId} --output FILE)`);
  for (const artifact of task.artifacts ?? [])
    lines.push(`file: ${artifact.name} (${artifact.size} bytes) ${artifact.url}`);
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
