import { describe, expect, it } from 'vitest';
import { type CliIo, EXIT, runCli } from '../../client/cli.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly requests: { readonly url: string; readonly authorization: string | null; readonly body?: string }[];
}

/** Runs the CLI in-process against a fake API that lists nothing; records what it sent. */
async function run(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const requests: Run['requests'] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { OFFLOAD_URL: 'https://api.example.com', ...options.env },
    ...(options.stdin !== undefined && { readStdin: async () => options.stdin ?? '' }),
    fetch: async (input, init) => {
      requests.push({
        url: String(input),
        authorization: new Headers(init?.headers).get('authorization'),
        ...(typeof init?.body === 'string' && { body: init.body }),
      });
      return new Response(JSON.stringify({ tasks: [] }), { headers: { 'content-type': 'application/json' } });
    },
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr, requests };
}

describe('the offload CLI’s token', () => {
  it('comes from OFFLOAD_TOKEN', async () => {
    const result = await run(['list', '--json'], { env: { OFFLOAD_TOKEN: 'from-env' } });

    expect(result.code).toBe(EXIT.ok);
    expect(result.requests.map((request) => request.authorization)).toEqual(['Bearer from-env']);
  });

  it('comes from the first line of stdin with --token-stdin, ahead of the environment', async () => {
    const result = await run(['--token-stdin', 'list', '--json'], {
      env: { OFFLOAD_TOKEN: 'from-env' },
      stdin: 'from-stdin\nignored\n',
    });

    expect(result.code).toBe(EXIT.ok);
    expect(result.requests.map((request) => request.authorization)).toEqual(['Bearer from-stdin']);
  });

  it('is refused on the command line, where ps and shell history would show it', async () => {
    const result = await run(['--token', 'secret-token', 'list']);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/OFFLOAD_TOKEN|--token-stdin/);
    expect(result.stderr).not.toContain('secret-token');
    expect(result.requests).toEqual([]);
  });

  it.each([
    ['an empty stdin', ['--token-stdin', 'list'], ''],
    ['a payload from stdin as well', ['--token-stdin', 'submit', 'echo', '@-'], 'tok\n'],
  ])('is a usage error with %s', async (_case, args, stdin) => {
    const result = await run(args, { stdin });

    expect(result.code).toBe(EXIT.usage);
    expect(result.requests).toEqual([]);
  });
});

describe('the offload CLI’s URL', () => {
  it('refuses plain http to another host (exit 2), sending nothing', async () => {
    const result = await run(['list'], { env: { OFFLOAD_URL: 'http://api.example.com', OFFLOAD_TOKEN: 't' } });

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('InsecureUrl');
    expect(result.requests).toEqual([]);
  });

  it('takes plain http to another host with --insecure-http, and to this machine without it', async () => {
    const remote = await run(['--insecure-http', 'list'], { env: { OFFLOAD_URL: 'http://api.test.internal' } });
    const local = await run(['list'], { env: { OFFLOAD_URL: 'http://127.0.0.1:3000' } });

    expect([remote.code, local.code]).toEqual([EXIT.ok, EXIT.ok]);
    expect([...remote.requests, ...local.requests].map((request) => request.url)).toEqual([
      'http://api.test.internal/tasks',
      'http://127.0.0.1:3000/tasks',
    ]);
  });
});

describe('offload callbacks secret', () => {
  it('prints the caller’s secret from GET /callbacks/secret', async () => {
    let stdout = '';
    const urls: string[] = [];
    const code = await runCli(['callbacks', 'secret'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: { OFFLOAD_URL: 'https://api.example.com', OFFLOAD_TOKEN: 't' },
      fetch: async (input) => {
        urls.push(String(input));
        return new Response(JSON.stringify({ secret: 'whsec_abc=' }), {
          headers: { 'content-type': 'application/json' },
        });
      },
    });

    expect(code).toBe(EXIT.ok);
    expect(urls).toEqual(['https://api.example.com/callbacks/secret']);
    expect(stdout).toBe('whsec_abc=\n');
  });
});

describe('the offload CLI’s payload file and output', () => {
  it.each([
    ['a payload argument and --payload-file', ['submit', 'echo', '{}', '--payload-file', 'p.json']],
    ['--output without --wait', ['submit', 'echo', '{}', '--output', 'r.json']],
    ['a --payload-file that cannot be read', ['submit', 'echo', '--payload-file', '/nonexistent/p.json']],
  ])('is a usage error with %s, sending nothing', async (_case, args) => {
    const result = await run(args, { env: { OFFLOAD_TOKEN: 't' } });

    expect(result.code).toBe(EXIT.usage);
    expect(result.requests).toEqual([]);
  });
});

describe('the offload CLI’s submit', () => {
  it('sends --priority and --lane with the task', async () => {
    const result = await run(['submit', 'echo', '{}', '--priority', 'high', '--lane', 'long'], {
      env: { OFFLOAD_TOKEN: 't' },
    });

    expect(result.code).toBe(EXIT.ok);
    expect(JSON.parse(result.requests[0]?.body ?? '')).toEqual({
      type: 'echo',
      payload: {},
      priority: 'high',
      lane: 'long',
    });
  });

  it('refuses a priority that is not normal or high (exit 2), sending nothing', async () => {
    const result = await run(['submit', 'echo', '{}', '--priority', 'urgent'], { env: { OFFLOAD_TOKEN: 't' } });

    expect(result.code).toBe(EXIT.usage);
    expect(result.requests).toEqual([]);
  });
});

describe('offload submit --batch', () => {
  /** The CLI against a fake batch API: every item accepted but those of type `nope`. */
  async function batch(args: string[], stdin?: string) {
    let stdout = '';
    let stderr = '';
    const bodies: unknown[] = [];
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { OFFLOAD_URL: 'https://api.example.com', OFFLOAD_TOKEN: 't' },
      ...(stdin !== undefined && { readStdin: async () => stdin }),
      fetch: async (_input, init) => {
        const { tasks } = JSON.parse(String(init?.body)) as { tasks: { type: string }[] };
        bodies.push(tasks);
        const results = tasks.map((task, i) =>
          task.type === 'nope'
            ? { error: { code: 'UnknownTaskType', message: 'Unknown task type "nope".' } }
            : { taskId: `t-${i}`, status: 'QUEUED', location: `/tasks/t-${i}` },
        );
        return new Response(JSON.stringify({ results }), { status: 207 });
      },
    };
    const code = await runCli(args, io);
    return { code, stdout, stderr, bodies };
  }

  const lines = [
    '{"type":"echo","payload":{"n":1}}',
    '',
    '{"type":"nope"}',
    '{"type":"echo","idempotencyKey":"k"}',
  ].join('\n');

  it('submits every line of the file in one request and prints one line per task, in order', async () => {
    const result = await batch(['submit', '--batch', '-'], lines);

    expect(result.bodies).toEqual([
      [
        { type: 'echo', payload: { n: 1 }, idempotencyKey: expect.any(String) },
        { type: 'nope', idempotencyKey: expect.any(String) },
        { type: 'echo', idempotencyKey: 'k' },
      ],
    ]);
    expect(result.stdout).toBe('t-0\nerror UnknownTaskType Unknown task type "nope".\nt-2\n');
    expect(result.stderr).toContain('1 of 3 tasks were not accepted');
    expect(result.code).toBe(EXIT.apiError);
  });

  it('prints {"results": [...]} with --json', async () => {
    const result = await batch(['submit', '--batch', '-', '--json'], '{"type":"echo"}\n');

    expect(JSON.parse(result.stdout)).toEqual({ results: [{ taskId: 't-0' }] });
    expect(result.code).toBe(EXIT.ok);
  });

  it.each([
    ['a line that is not JSON', ['submit', '--batch', '-'], '{"type":"echo"}\nnot json\n', /line 2 is not JSON/],
    ['a line that is not a task', ['submit', '--batch', '-'], '[1,2]\n', /line 1 is not a task/],
    ['an empty file', ['submit', '--batch', '-'], '\n\n', /holds no task/],
    ['a type beside --batch', ['submit', 'echo', '--batch', '-'], '{"type":"echo"}\n', /give no type/],
    ['--wait with --batch', ['submit', '--batch', '-', '--wait'], '{"type":"echo"}\n', /--json only/],
    ['a file that does not exist', ['submit', '--batch', '/no/such/file.jsonl'], undefined, /Cannot read/],
  ])('is a usage error with %s, sending nothing', async (_case, args, stdin, message) => {
    const result = await batch(args, stdin);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(message);
    expect(result.bodies).toEqual([]);
  });
});
