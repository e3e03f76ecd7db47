import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { CallbackVerificationError, verifyCallback } from '../../client/index.js';
import { callbackEventId, signedCallbackRequest } from '../../shared/callbacks/callback-event.js';
import { formatSecret, ownerSigningKey, ownerSigningKeys } from '../../shared/callbacks/signing.js';
import { deploymentKeyFrom } from '../../shared/deployment-key.js';
import { type Task, toTaskView } from '../../shared/task.js';
import { taskFactory } from '../support/factories.js';
import { TEST_NOW } from '../support/fakes.js';

const key = deploymentKeyFrom('k'.repeat(64));
const finished = taskFactory({
  status: 'SUCCEEDED',
  attempt: 1,
  result: { ok: true },
  finishedAt: TEST_NOW.toISOString(),
  callback: { url: 'https://hooks.example.com/offload' },
}) as Task & { finishedAt: string; status: 'SUCCEEDED' };
const headersOf = (request: { headers: Record<string, string> }) => request.headers;

describe('signing secrets', () => {
  it('gives each owner a Standard Webhooks secret of its own, the same every time', () => {
    const alice = formatSecret(ownerSigningKey(key, 'jwt:alice', 1));

    expect(alice).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(formatSecret(ownerSigningKey(key, 'jwt:alice', 1))).toBe(alice);
    expect(formatSecret(ownerSigningKey(key, 'jwt:bob', 1))).not.toBe(alice);
    expect(formatSecret(ownerSigningKey(deploymentKeyFrom('j'.repeat(64)), 'jwt:alice', 1))).not.toBe(alice);
  });

  it('gives a new key version a new secret, without a new deployment key', () => {
    expect(ownerSigningKey(key, 'jwt:alice', 2).equals(ownerSigningKey(key, 'jwt:alice', 1))).toBe(false);
  });
});

describe('a signed callback', () => {
  const secret = formatSecret(ownerSigningKey(key, finished.ownerId, 1));
  const request = signedCallbackRequest(
    finished,
    toTaskView(finished),
    ownerSigningKeys(key, finished.ownerId, [1]),
    new Date(),
  );

  it('is verified by the standardwebhooks package, which returns the event', () => {
    const event = new Webhook(secret).verify(request.body, headersOf(request));

    expect(event).toMatchObject({
      type: 'task.succeeded',
      timestamp: finished.finishedAt,
      data: { taskId: finished.taskId, status: 'SUCCEEDED', result: { ok: true } },
    });
    expect(headersOf(request)['webhook-id']).toBe(callbackEventId(finished, finished.finishedAt));
  });

  it('is verified by the client’s verifyCallback, from a plain object or fetch Headers', async () => {
    await expect(verifyCallback(headersOf(request), request.body, secret)).resolves.toMatchObject({
      type: 'task.succeeded',
    });
    const fromBytes = await verifyCallback(new Headers(headersOf(request)), Buffer.from(request.body), secret);
    expect(fromBytes.data.taskId).toBe(finished.taskId);
  });

  it.each([
    [
      'another owner’s secret',
      (r: typeof request) => ({ ...r, secret: formatSecret(ownerSigningKey(key, 'jwt:x', 1)) }),
      'InvalidSignature',
    ],
    ['a changed body', (r: typeof request) => ({ ...r, body: r.body.replace('true', 'false') }), 'InvalidSignature'],
    [
      'another webhook-id',
      (r: typeof request) => ({ ...r, headers: { ...r.headers, 'webhook-id': 'msg_x' } }),
      'InvalidSignature',
    ],
    [
      'an old timestamp',
      (r: typeof request) => ({ ...r, headers: { ...r.headers, 'webhook-timestamp': '1000' } }),
      'StaleTimestamp',
    ],
    [
      'no signature',
      (r: typeof request) => ({ ...r, headers: { ...r.headers, 'webhook-signature': '' } }),
      'MissingHeaders',
    ],
  ])('is refused with %s', async (_case, change, code) => {
    const changed = { secret, ...change(request) } as typeof request & { secret: string };
    const refusal = verifyCallback(changed.headers, changed.body, changed.secret);
    await expect(refusal).rejects.toThrow(CallbackVerificationError);
    await expect(refusal).rejects.toMatchObject({ code });
  });

  it('keeps its webhook-id across attempts, and gets a new one when a redriven task ends again', () => {
    const later = signedCallbackRequest(
      finished,
      toTaskView(finished),
      ownerSigningKeys(key, finished.ownerId, [1]),
      new Date(Date.now() + 60_000),
    );
    const again = { ...finished, finishedAt: new Date(TEST_NOW.getTime() + 3_600_000).toISOString() };

    expect(headersOf(later)['webhook-id']).toBe(headersOf(request)['webhook-id']);
    expect(headersOf(signedCallbackRequest(again, toTaskView(again), [], new Date()))['webhook-id']).not.toBe(
      headersOf(request)['webhook-id'],
    );
  });
});

describe('key rotation', () => {
  const oldSecret = formatSecret(ownerSigningKey(key, finished.ownerId, 1));
  const newSecret = formatSecret(ownerSigningKey(key, finished.ownerId, 2));

  it('signs with both keys while both versions are listed, so old and new receivers verify', async () => {
    const request = signedCallbackRequest(
      finished,
      toTaskView(finished),
      ownerSigningKeys(key, finished.ownerId, [2, 1]),
      new Date(),
    );

    expect(headersOf(request)['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(request.body, headersOf(request))).not.toThrow();
    expect(() => new Webhook(newSecret).verify(request.body, headersOf(request))).not.toThrow();
    await expect(verifyCallback(headersOf(request), request.body, oldSecret)).resolves.toBeDefined();
  });

  it('stops verifying with the old secret once its version is dropped', () => {
    const request = signedCallbackRequest(
      finished,
      toTaskView(finished),
      ownerSigningKeys(key, finished.ownerId, [2]),
      new Date(),
    );

    expect(() => new Webhook(newSecret).verify(request.body, headersOf(request))).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(request.body, headersOf(request))).toThrow();
  });
});
