import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolveHost } from '../../shared/callbacks/callback-url.js';
import { HttpCallbackSender } from '../../shared/callbacks/http-callback-sender.js';

/** A server on 127.0.0.1 whose answer each test picks by path. */
let server: Server;
let port = 0;
const hits: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
const routes: Record<string, (res: ServerResponse) => void> = {
  '/ok': (res) => res.writeHead(204).end(),
  '/redirect': (res) => res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end(),
  '/silent': () => {},
  '/endless': (res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('x'.repeat(512)), 5);
    res.on('close', () => clearInterval(timer));
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      (routes[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

const lookups: string[] = [];
/** Names of a made-up zone: `receiver.test` is this machine, `rebind.test` is rebound to it. */
const resolve: ResolveHost = async (hostname) => {
  lookups.push(hostname);
  if (hostname === 'receiver.test' || hostname === 'rebind.test') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};
const sender = (allowLocal: boolean, timeoutMs = 2_000) =>
  new HttpCallbackSender({ allowLocal, timeoutMs, maxResponseBytes: 1024, resolve });
const post = (target: HttpCallbackSender, url: string) =>
  target.send({ url, headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, body: '{"a":1}' });

describe('HttpCallbackSender', () => {
  it('POSTs the body and headers and reports the status (local policy)', async () => {
    const local = sender(true);
    expect(await post(local, `http://127.0.0.1:${port}/ok`)).toEqual({ kind: 'response', statusCode: 204 });
    expect(hits.at(-1)).toMatchObject({ path: '/ok', body: '{"a":1}', headers: { 'webhook-id': 'msg_1' } });
    local.close();
  });

  it('connects to the address its own lookup checked', async () => {
    const local = sender(true);
    expect(await post(local, `http://receiver.test:${port}/ok`)).toEqual({ kind: 'response', statusCode: 204 });
    expect(lookups).toContain('receiver.test');
    local.close();
  });

  it('does not follow a redirect: the 302 is the answer', async () => {
    const local = sender(true);
    const before = hits.length;
    expect(await post(local, `http://127.0.0.1:${port}/redirect`)).toEqual({ kind: 'response', statusCode: 302 });
    expect(hits.slice(before).map((hit) => hit.path)).toEqual(['/redirect']);
    local.close();
  });

  it('reads at most 1 KB of a body that never ends, then answers with the status', async () => {
    const local = sender(true, 5_000);
    const started = Date.now();
    expect(await post(local, `http://127.0.0.1:${port}/endless`)).toEqual({ kind: 'response', statusCode: 200 });
    expect(Date.now() - started).toBeLessThan(5_000);
    local.close();
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const local = sender(true, 300);
    expect(await post(local, `http://127.0.0.1:${port}/silent`)).toEqual({
      kind: 'error',
      reason: 'no answer within 300 ms',
    });
    local.close();
  });

  it.each([
    ['a loopback literal', () => `https://127.0.0.1:${port}/ok`],
    ['an IPv4-mapped literal', () => `https://[::ffff:127.0.0.1]:${port}/ok`],
    ['a name rebound to loopback since submission', () => `https://rebind.test:${port}/ok`],
    ['plain http', () => `http://receiver.test:${port}/ok`],
  ])('refuses %s in AWS, at the connection, without reaching the server', async (_case, url) => {
    const aws = sender(false);
    const before = hits.length;
    const response = await post(aws, url());
    expect(response).toMatchObject({ kind: 'error', reason: expect.stringMatching(/^refused/) });
    expect(hits.length).toBe(before);
    aws.close();
  });
});
