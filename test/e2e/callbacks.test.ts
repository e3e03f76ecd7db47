import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOffloadDev } from '../support/offload-dev-process.js';
import { call, submit, type TaskBody, waitForTask } from './api-client.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/**
 * A callback receiver on 127.0.0.1: records every request per path and answers each path's scripted
 * statuses in turn (204 once the script is spent).
 */
class Receiver {
  readonly requests = new Map<string, Received[]>();
  readonly scripts = new Map<string, number[]>();
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        this.requests.set(path, [
          ...(this.requests.get(path) ?? []),
          { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() },
        ]);
        res.statusCode = this.scripts.get(path)?.shift() ?? 204;
        res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async waitFor(path: string, count: number, timeoutMs = 20_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while ((this.requests.get(path)?.length ?? 0) < count) {
      if (Date.now() > deadline) throw new Error(`${path}: ${this.requests.get(path)?.length ?? 0} of ${count} calls`);
      await sleep(20);
    }
    return this.requests.get(path) ?? [];
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

interface CallbackTaskBody extends TaskBody {
  finishedAt?: string;
  callback?: { url: string; status: string; attempts: number; lastStatusCode?: number; deliveredAt?: string };
}

const waitForCallback = (taskId: string, status: string) =>
  waitForTask(taskId, {
    until: (t) => (t as CallbackTaskBody).callback?.status === status,
  }) as Promise<CallbackTaskBody>;

describe.skipIf(Boolean(process.env.API_URL))('completion callbacks (local stack with --allow-local-callbacks)', () => {
  const receiver = new Receiver();
  let webhook: Webhook;
  let secret: string;
  let n = 0;
  const path = (name: string) => `/hooks/${name}-${++n}`;

  beforeAll(async () => {
    await receiver.start();
    const response = await call<{ secret: string }>('GET', '/callbacks/secret');
    expect(response.status).toBe(200);
    secret = response.body.secret;
    webhook = new Webhook(secret);
  });
  afterAll(() => receiver.stop());

  it('hands each caller a Standard Webhooks secret of its own', async () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const again = await call<{ secret: string }>('GET', '/callbacks/secret');
    expect(again.body.secret).toBe(secret);
  });

  it.each([
    ['succeeded', { type: 'echo', payload: { hello: 'callback' } }, 'task.succeeded', 'SUCCEEDED'],
    ['failed', { type: 'fail', payload: { code: 'NoLuck' } }, 'task.failed', 'FAILED'],
  ])(
    'POSTs the signed event of a %s task, which the standardwebhooks package verifies',
    async (_case, body, type, status) => {
      const hook = path(type);
      const { status: accepted, body: task } = await submit({ ...body, callbackUrl: `${receiver.url}${hook}` });
      expect(accepted).toBe(202);
      expect((task as CallbackTaskBody).callback).toEqual({
        url: `${receiver.url}${hook}`,
        status: 'PENDING',
        attempts: 0,
      });

      const [received] = await receiver.waitFor(hook, 1);
      const event = webhook.verify(received?.body ?? '', received?.headers as Record<string, string>) as {
        type: string;
        timestamp: string;
        data: CallbackTaskBody;
      };
      const delivered = await waitForCallback(task.taskId, 'DELIVERED');

      expect(received?.headers['content-type']).toBe('application/json');
      expect(received?.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}_\d+$/);
      expect(Math.abs(Number(received?.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(received?.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(event).toEqual({
        type,
        timestamp: delivered.finishedAt,
        // The view as GET returned it when the attempt was made: the callback pending, no attempt yet.
        data: { ...delivered, callback: { url: `${receiver.url}${hook}`, status: 'PENDING', attempts: 0 } },
      });
      expect(event.data.status).toBe(status);
      expect(delivered.callback).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 204 });
      expect(Date.parse(delivered.callback?.deliveredAt ?? '')).toBeGreaterThanOrEqual(Date.parse(event.timestamp));
    },
  );

  it('links a result too large for the record with a URL in the event, as GET /tasks/{id} does', async () => {
    const hook = path('large-result');
    const text = 'x'.repeat(4_096);
    const { body: task } = await submit({ type: 'echo', payload: { text }, callbackUrl: `${receiver.url}${hook}` });

    const [received] = await receiver.waitFor(hook, 1);
    const event = webhook.verify(received?.body ?? '', received?.headers as Record<string, string>) as {
      data: CallbackTaskBody & { resultUrl?: string };
    };

    expect(event.data.taskId).toBe(task.taskId);
    expect(event.data.result).toBeUndefined();
    const download = await fetch(event.data.resultUrl ?? 'http://127.0.0.1:9/none');
    expect(download.status).toBe(200);
    expect(await download.json()).toEqual({ text });
  });

  it('POSTs the event of a task cancelled while queued', async () => {
    const hook = path('cancelled');
    const { body: task } = await submit({
      type: 'echo',
      payload: 1,
      delaySeconds: 60,
      callbackUrl: `${receiver.url}${hook}`,
    });
    expect((await call('DELETE', `/tasks/${task.taskId}`)).status).toBe(200);

    const [received] = await receiver.waitFor(hook, 1);
    const event = webhook.verify(received?.body ?? '', received?.headers as Record<string, string>) as {
      type: string;
      data: TaskBody;
    };
    expect(event.type).toBe('task.cancelled');
    expect(event.data).toMatchObject({ taskId: task.taskId, status: 'CANCELLED' });
  });

  it('retries a receiver that fails twice and delivers on the third attempt, with the same webhook-id', async () => {
    const hook = path('flaky-receiver');
    receiver.scripts.set(hook, [500, 503]);
    const { body: task } = await submit({ type: 'echo', payload: 2, callbackUrl: `${receiver.url}${hook}` });

    const calls = await receiver.waitFor(hook, 3);
    const delivered = await waitForCallback(task.taskId, 'DELIVERED');

    expect(new Set(calls.map((c) => c.headers['webhook-id'])).size).toBe(1);
    for (const received of calls) {
      expect(() => webhook.verify(received.body, received.headers as Record<string, string>)).not.toThrow();
    }
    // Each attempt shows in the body the attempts made before it.
    expect(calls.map((c) => (JSON.parse(c.body) as { data: CallbackTaskBody }).data.callback?.attempts)).toEqual([
      0, 1, 2,
    ]);
    expect(delivered.callback).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatusCode: 204 });
    await sleep(500);
    expect(receiver.requests.get(hook)).toHaveLength(3);
  });

  it('stops at 410 Gone: the callback is FAILED after one attempt', async () => {
    const hook = path('gone');
    receiver.scripts.set(hook, [410]);
    const { body: task } = await submit({ type: 'echo', payload: 3, callbackUrl: `${receiver.url}${hook}` });

    const failed = await waitForCallback(task.taskId, 'FAILED');
    expect(failed.callback).toMatchObject({ attempts: 1, lastStatusCode: 410 });
    expect(receiver.requests.get(hook)).toHaveLength(1);
  });

  it('answers 400 InvalidCallbackUrl for a URL with credentials, even locally', async () => {
    const response = await submit({ type: 'echo', payload: 1, callbackUrl: 'http://user:pw@127.0.0.1:9/hook' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidCallbackUrl' } });
  });
});

/** `npm start` as a user runs it, without --allow-local-callbacks. */
const startPlainStack = () => startOffloadDev(['--tasks', 'functions/tasks/demo.ts', '--port', '0', '--no-watch']);

describe.skipIf(Boolean(process.env.API_URL))('the local stack without --allow-local-callbacks', () => {
  let stack: Awaited<ReturnType<typeof startPlainStack>>;
  beforeAll(async () => {
    stack = await startPlainStack();
  });
  afterAll(() => {
    stack?.process.kill('SIGKILL');
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://[::1]/hook',
    'https://169.254.169.254/latest/meta-data/',
  ])('answers 400 InvalidCallbackUrl for %s, as AWS does', async (callbackUrl) => {
    const response = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'echo', payload: 1, callbackUrl }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'InvalidCallbackUrl' } });
  });
});
