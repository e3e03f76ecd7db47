import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffloadClient } from '../../client/index.js';
import { type OffloadDevProcess, startOffloadDev } from '../support/offload-dev-process.js';

const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const CLI = repoFile('bin/offload.mjs');
/** tsx's loader by path: the user's project (the working directory) does not have tsx. */
const TSX = pathToFileURL(repoFile('node_modules/tsx/dist/loader.mjs')).href;

/** A project of a user's: a task module importing a helper file, both TypeScript. */
const project = mkdtempSync(join(tmpdir(), 'offload-dev-'));
const taskModule = join(project, 'tasks.ts');
const writeGreeting = (word: string) =>
  writeFileSync(
    join(project, 'greeting.ts'),
    `export const greet = (name: string): string => \`${word}, \${name}\`;\n`,
  );
const writeTasks = (extra = '') =>
  writeFileSync(
    taskModule,
    `import { defineTask } from ${JSON.stringify(repoFile('functions/tasks/define-task.ts'))};
import * as z from ${JSON.stringify(repoFile('shared/zod.ts'))};
import { greet } from './greeting.js';

export const taskTypes = {
  greet: defineTask({
    payload: z.strictObject({ name: z.string() }),
    run: async ({ name }) => ({ greeting: greet(name) }),
  }),${extra}
};
`,
  );

const startDev = () =>
  startOffloadDev(['--tasks', taskModule, '--port', '0', '--data-dir', join(project, 'data')], { cwd: project });

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('offload dev', { timeout: 90_000 }, () => {
  let dev: OffloadDevProcess;
  let client: OffloadClient;

  beforeAll(async () => {
    writeGreeting('Hello');
    writeTasks();
    dev = await startDev();
    client = new OffloadClient({ baseUrl: dev.url, token: dev.token });
  });
  afterAll(() => {
    if (dev?.process.exitCode === null) dev.process.kill('SIGKILL');
    rmSync(project, { recursive: true, force: true });
  });

  const resultOf = async (type: string, payload: unknown) =>
    (await client.submit(type, payload)).result({ timeoutMs: 20_000 });

  it("runs the project's own task type and names it on start", async () => {
    expect(dev.output()).toContain('Task types (tasks.ts): greet');
    await expect(resultOf('greet', { name: 'Ada' })).resolves.toEqual({ greeting: 'Hello, Ada' });
  });

  it('runs the changed code after a file the task module imports changes', async () => {
    const reloads = dev.output().split('task module reloaded').length;
    writeGreeting('Hi');
    await until(() => dev.output().split('task module reloaded').length > reloads, 'the reload');
    await expect(resultOf('greet', { name: 'Ada' })).resolves.toEqual({ greeting: 'Hi, Ada' });
  });

  it('accepts a task type added to the module, in the API as in the worker', async () => {
    const reloads = dev.output().split('task module reloaded').length;
    writeTasks(`
  shout: defineTask({
    payload: z.strictObject({ text: z.string() }),
    run: async ({ text }) => text.toUpperCase(),
  }),`);
    await until(() => dev.output().split('task module reloaded').length > reloads, 'the reload');
    expect(dev.output()).toMatch(/task module reloaded: greet, shout/);
    await expect(resultOf('shout', { text: 'quiet' })).resolves.toBe('QUIET');
  });

  it('keeps the previous code running when the module no longer loads, and says why', async () => {
    writeFileSync(taskModule, 'export const taskTypes = {;\n');
    await until(() => dev.errors().includes('not reloaded'), 'the failed reload');
    await expect(resultOf('shout', { text: 'still here' })).resolves.toBe('STILL HERE');
  });

  it('accepts a token from offload token for the same data dir', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'token', '--sub', 'grace', '--data-dir', join(project, 'data')],
      { cwd: project },
    );
    const grace = new OffloadClient({ baseUrl: dev.url, token: stdout.trim() });
    await expect(grace.list()).resolves.toEqual({ tasks: [] });
  });

  it('lets npm run purge-owner -- --local erase the owner’s tasks, objects and schedules', async () => {
    // A payload over 1 KB is kept in the task data bucket, under the owner's keyed hash.
    const task = await client.submit('greet', { name: 'x'.repeat(2_000) });
    await task.result({ timeoutMs: 20_000 });
    await client.schedules.create({
      name: 'nightly',
      expression: 'cron(0 2 * * ? *)',
      task: { type: 'greet', payload: { name: 'Ada' } },
    });

    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', TSX, repoFile('infra/ops/purge-owner.ts'), '--local', '--owner', 'jwt:dev'],
      { cwd: project },
    );

    expect(stdout).toContain(task.id);
    expect(stdout).toMatch(new RegExp(`/${task.id}/payload-[^\\n]+\\.json`));
    expect(stdout).toContain('schedule nightly');
    await expect(client.get(task.id)).rejects.toMatchObject({ status: 404 });
    await expect(client.schedules.get('nightly')).rejects.toMatchObject({ status: 404 });
  });

  it('stops on Ctrl-C', async () => {
    dev.process.kill('SIGINT');
    await until(() => dev.process.exitCode !== null, 'the exit', 10_000);
    expect(dev.process.exitCode).toBe(0);
  });
});
