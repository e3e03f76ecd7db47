import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/offload.mjs', import.meta.url));

/** `offload dev` (what `npm start` runs) in a child process, as a user starts it, and what it prints. */
export interface OffloadDevProcess {
  readonly process: ChildProcess;
  readonly url: string;
  /** The dev token it printed (owner "dev"). */
  readonly token: string;
  output(): string;
  errors(): string;
}

/**
 * Starts `offload dev <args>` and resolves once it prints its URL and token; rejects, with everything
 * it printed, when it exits or takes longer than `timeoutMs`. Killing it is the caller's business.
 */
export async function startOffloadDev(
  args: readonly string[],
  options: { readonly cwd?: string; readonly timeoutMs?: number } = {},
): Promise<OffloadDevProcess> {
  const child = spawn(process.execPath, [CLI, 'dev', ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  for (const deadline = Date.now() + (options.timeoutMs ?? 30_000); Date.now() < deadline; ) {
    const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
    const token = /TOKEN=(\S+)/.exec(stdout)?.[1];
    if (url && token) return { process: child, url, token, output: () => stdout, errors: () => stderr };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`offload dev did not start:\n${stdout}\n${stderr}`);
}
