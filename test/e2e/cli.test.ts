import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/offload.mjs', import.meta.url));

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `offload ...args` as a child process against the suite's stack; stdout and stderr are pipes, not TTYs. */
function offload(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--disable-warning=NodeVersionSupportWarning', BIN, ...args],
      {
        env: { ...process.env, OFFLOAD_URL: inject('apiUrl'), OFFLOAD_TOKEN: inject('apiToken'), NO_COLOR: '1' },
        timeout: 25_000,
      },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe.concurrent('the offload CLI', () => {
  it('waits for a task, prints progress lines on stderr and the result on stdout, exit 0', async () => {
    const run = await offload('submit', 'sleep', '{"ms":1200}', '--wait');

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ sleptMs: 1200 });
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^[0-9a-f-]{36} SUCCEEDED 100%$/);
    expect(lines.some((line) => /^[0-9a-f-]{36} RUNNING( \d+%.*)?$/.test(line))).toBe(true);
  });

  it('prints only the final task as JSON with --json', async () => {
    const run = await offload('submit', 'echo', '{"via":"cli"}', '--wait', '--json');

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ type: 'echo', status: 'SUCCEEDED', result: { via: 'cli' } });
  });

  it.runIf(inject('diagnosticTasks'))('exits 1 with the task’s error on stderr when the task fails', async () => {
    const run = await offload('submit', 'fail', '{"code":"CliSaysNo"}', '--wait', '--json');

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'FAILED', error: { code: 'CliSaysNo' } });
    expect(run.stderr).toMatch(/FAILED: CliSaysNo: Failed on purpose\./);
  });

  it('submits, shows, lists and cancels by id', async () => {
    const submitted = await offload('submit', 'echo', '"later"', '--delay', '30');
    const id = submitted.stdout.trim();

    const cancelled = await offload('cancel', id, '--json');
    const [status, listing] = await Promise.all([
      offload('status', id, '--json'),
      offload('list', '--status', 'CANCELLED', '--limit', '50', '--json'),
    ]);

    expect(submitted.code).toBe(0);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ taskId: id, status: 'CANCELLED' });
    expect(JSON.parse(status.stdout)).toMatchObject({ taskId: id, status: 'CANCELLED' });
    expect(JSON.parse(listing.stdout).tasks.map((task: { taskId: string }) => task.taskId)).toContain(id);
  });

  it.each([
    ['an API error', ['submit', 'sleep', '{"ms":"x"}'], 4, /400 InvalidPayload: .*\n {2}payload\.ms: /],
    ['a payload that is not JSON', ['submit', 'echo', '{nope'], 2, /not valid JSON/],
    ['an unknown command', ['frobnicate'], 2, /unknown command/],
  ])('exits %s with the reason on stderr', async (_case, args, code, message) => {
    const run = await offload(...args);

    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });
});

describe('offload schedules', () => {
  it('creates, lists, disables and deletes a schedule; a deleted one is an API error (exit 4)', async () => {
    const name = `cli-${Date.now().toString(36)}`;

    const created = await offload(
      'schedules',
      'create',
      name,
      'cron(0 2 * * ? *)',
      'echo',
      '{"from":"cli"}',
      '--timezone',
      'Europe/Berlin',
      '--json',
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name,
      timezone: 'Europe/Berlin',
      task: { type: 'echo', payload: { from: 'cli' } },
      nextRunAt: expect.any(String),
    });

    const listed = await offload('schedules', 'list', '--limit', '50', '--json');
    expect(JSON.parse(listed.stdout).schedules.map((s: { name: string }) => s.name)).toContain(name);

    const disabled = await offload('schedules', 'update', name, '--disable', '--json');
    expect(JSON.parse(disabled.stdout)).toMatchObject({ name, enabled: false });

    expect((await offload('schedules', 'delete', name)).stdout).toBe(`deleted ${name}\n`);
    const gone = await offload('schedules', 'get', name);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('404 NotFound');
  });

  it('refuses an update without changes as a usage error (exit 2)', async () => {
    const run = await offload('schedules', 'update', 'any');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Nothing to change');
  });
});

describe.runIf(inject('diagnosticTasks'))('the offload CLI with large payloads and results', () => {
  it('uploads a --payload-file too large for a request and writes the downloaded result to --output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'offload-cli-'));
    try {
      const text = 'y'.repeat(1024 * 1024);
      await writeFile(join(dir, 'payload.json'), JSON.stringify({ text, resultBytes: 300_000 }));

      const run = await offload(
        'submit',
        'bulk',
        '--payload-file',
        join(dir, 'payload.json'),
        '--wait',
        '--output',
        join(dir, 'result.json'),
      );

      expect(run.code).toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/result written to .*result\.json \(\d+ bytes\)/);
      const result = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8'));
      expect(result).toMatchObject({ textBytes: 1024 * 1024 });
      expect(result.padding).toHaveLength(300_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
