import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';

/** A module a thread loads before the handler, to attach measuring or fault-injecting tools to its SDK clients. */
export interface ThreadSetup {
  /** File URL of a module exporting `setUpThread(options, report)`. */
  readonly module: string;
  /** Structured-cloneable options passed to it. */
  readonly options?: unknown;
}

export interface LocalFunctionOptions {
  /** Shown in the Lambda context and in errors. */
  readonly name: string;
  /** File URL of the module the environment loads at its cold start. */
  readonly handlerModule: string;
  /**
   * The module's handler factory, called once per environment with the task module's `taskTypes`
   * (see infra/lambda-entry.ts). Without one, the module's `handler` export is the handler.
   */
  readonly factory?: string;
  /** File URL of the task module whose `taskTypes` the factory gets. */
  readonly taskModule?: string;
  readonly timeoutMs: number;
  readonly memoryMiB: number;
  /**
   * Execution environments at most; further invocations wait for one to be free (Lambda would
   * throttle them at its reserved concurrency; locally, waiting is kinder). @default no limit
   */
  readonly maxEnvironments?: number;
  /** The function's environment, fixed when the stack starts (threads are started lazily, later). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly setup?: ThreadSetup;
  /** What the setup module reports from a thread. */
  readonly onReport?: (payload: unknown) => void;
  /** Each line the function prints, as Lambda takes stdout and stderr to CloudWatch Logs. */
  readonly onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** An invocation that did not return: it timed out, its environment was ended, or the handler threw. */
export class InvocationError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'killed' | 'crashed' | 'handler',
  ) {
    super(message);
    this.name = 'InvocationError';
  }
}

interface Environment {
  /** The code generation it loaded: environments of an older one are ended once idle (see refresh). */
  readonly generation: number;
  /** Set when the environment boots (cold starts take turns). */
  worker?: Worker;
  ready: Promise<void>;
  pending?: { id: number; resolve: (value: unknown) => void; reject: (error: Error) => void };
}

/**
 * A Lambda function of the local stack. Each invocation runs in an execution environment (a worker
 * thread) that serves one invocation at a time and is reused while warm. An invocation that outlives
 * its timeout ends its environment, as Lambda does: the handler stops mid-flight, writes nothing
 * more, and the next invocation starts a fresh environment (a cold start).
 */
export class LocalFunction {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private nextId = 0;
  private stopped = false;
  private generation = 0;
  /** Invocations waiting for an environment (at maxEnvironments). */
  private readonly waiting: (() => void)[] = [];
  /**
   * Cold starts take turns, two at a time: on a 2-core machine ten at once would each take as long
   * as all ten, so every message of the burst would wait that long.
   */
  private readonly bootLanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
  private nextLane = 0;

  constructor(private readonly options: LocalFunctionOptions) {}

  /**
   * Runs one invocation. `killAfterMs` ends the environment that long into it (fault injection: a
   * crash, such as running out of memory, mid-invocation).
   */
  async invoke(event: unknown, faults: { readonly killAfterMs?: number } = {}): Promise<unknown> {
    if (this.stopped) throw new InvocationError(`${this.options.name} is stopped`, 'killed');
    const environment = await this.acquire();
    // Lambda's timeout counts from the invocation, not from the environment's initialisation.
    await environment.ready;
    if (this.stopped) throw new InvocationError(`${this.options.name} is stopped`, 'killed');
    const id = this.nextId++;
    const deadline = Date.now() + this.options.timeoutMs;
    return new Promise((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const settle = () => {
        for (const timer of timers) clearTimeout(timer);
        environment.pending = undefined;
      };
      const end = (error: InvocationError) => {
        settle();
        void this.retire(environment);
        reject(error);
      };
      timers.push(
        setTimeout(
          () => end(new InvocationError(`Task timed out after ${this.options.timeoutMs} ms`, 'timeout')),
          this.options.timeoutMs,
        ),
      );
      if (faults.killAfterMs !== undefined) {
        timers.push(
          setTimeout(() => end(new InvocationError('Runtime exited (injected crash)', 'killed')), faults.killAfterMs),
        );
      }
      environment.pending = {
        id,
        resolve: (value) => {
          settle();
          this.reuse(environment);
          resolve(value);
        },
        reject: (error) => {
          settle();
          // A handler that threw leaves a working environment; one that crashed or was ended does not.
          if (error instanceof InvocationError && error.reason === 'handler') this.reuse(environment);
          reject(error);
        },
      };
      environment.worker?.postMessage({ id, event, deadline });
    });
  }

  /** Starts `count` environments ahead of traffic, as provisioned concurrency keeps them warm. */
  async warm(count: number): Promise<void> {
    const started = Array.from({ length: count }, () => this.start());
    await Promise.all(started.map((environment) => environment.ready));
    for (const environment of started) this.reuse(environment);
  }

  /**
   * Loads the code afresh from now on (the task module changed): idle environments end at once,
   * busy ones when their invocation returns, and the next invocations cold-start with the new code.
   */
  refresh(): void {
    this.generation++;
    for (const environment of this.idle.splice(0)) void this.retire(environment);
  }

  /** Ends every environment; invocations in flight reject. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all([...this.all].map((environment) => this.retire(environment)));
  }

  /** An idle environment, else a new one, else (at maxEnvironments) the next to become free. */
  private async acquire(): Promise<Environment> {
    for (;;) {
      const idle = this.idle.pop();
      if (idle) return idle;
      if (this.all.size < (this.options.maxEnvironments ?? Number.POSITIVE_INFINITY)) return this.start();
      await new Promise<void>((wake) => this.waiting.push(wake));
      if (this.stopped) throw new InvocationError(`${this.options.name} is stopped`, 'killed');
    }
  }

  /** A new environment, booted once the cold starts queued before it in its lane are done. */
  private start(): Environment {
    const environment: Environment = { generation: this.generation, ready: Promise.resolve() };
    const lane = this.nextLane++ % this.bootLanes.length;
    environment.ready = (this.bootLanes[lane] ?? Promise.resolve()).then(() => this.boot(environment));
    this.bootLanes[lane] = environment.ready.catch(() => {});
    this.all.add(environment);
    return environment;
  }

  private boot(environment: Environment): Promise<void> {
    const { options } = this;
    if (!this.all.has(environment)) return Promise.reject(new InvocationError(`${options.name} is stopped`, 'killed'));
    const worker = new Worker(new URL('./lambda-thread.mjs', import.meta.url), {
      workerData: {
        handlerModule: options.handlerModule,
        factory: options.factory,
        taskModule: options.taskModule,
        setupModule: options.setup?.module,
        setupOptions: options.setup?.options,
        functionName: options.name,
        memoryMiB: options.memoryMiB,
      },
      env: { ...options.env },
      stdout: true,
      stderr: true,
    });
    environment.worker = worker;
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: worker[stream], crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        options.onOutput(line, stream),
      );
    }
    return new Promise<void>((ready, failed) => {
      worker.on('message', (message: ThreadMessage) => {
        if (message.kind === 'ready') ready();
        else if (message.kind === 'report') options.onReport?.(message.payload);
        else if (message.kind === 'result' && environment.pending?.id === message.id) {
          environment.pending.resolve(message.result);
        } else if (message.kind === 'error' && environment.pending?.id === message.id) {
          environment.pending.reject(new InvocationError(message.message, 'handler'));
        }
      });
      const crashed = (error: Error) => {
        failed(error);
        environment.pending?.reject(
          new InvocationError(`${options.name} environment crashed: ${error.message}`, 'crashed'),
        );
        this.all.delete(environment);
        this.waiting.shift()?.();
      };
      worker.on('error', crashed);
      worker.on('exit', (code) => {
        if (this.all.has(environment)) crashed(new Error(`exited with code ${code}`));
      });
    });
  }

  private reuse(environment: Environment): void {
    if (environment.generation !== this.generation) void this.retire(environment);
    else if (this.all.has(environment) && !this.stopped) this.idle.push(environment);
    this.waiting.shift()?.();
  }

  private async retire(environment: Environment): Promise<void> {
    this.all.delete(environment);
    this.waiting.shift()?.();
    const index = this.idle.indexOf(environment);
    if (index >= 0) this.idle.splice(index, 1);
    environment.pending?.reject(new InvocationError(`${this.options.name} environment ended`, 'killed'));
    await environment.worker?.terminate();
  }
}

type ThreadMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'report'; readonly payload: unknown }
  | { readonly kind: 'result'; readonly id: number; readonly result: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };
