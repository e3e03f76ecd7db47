import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../infra/local/emulators.js';
import { checkPresignedRequest } from '../../infra/local/presigned-url-check.js';

const s3 = new S3Client({
  region: 'us-east-1',
  credentials: LOCAL_CREDENTIALS,
  endpoint: 'http://127.0.0.1:4566',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
const secretFor = (id: string) =>
  id === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS.secretAccessKey : undefined;
const host = '127.0.0.1:4566';

/** The request a caller sends with a presigned URL, as the emulator receives it. */
const received = (url: string, method: string, headers: Record<string, string> = {}) => {
  const parsed = new URL(url);
  return { method, url: parsed.pathname + parsed.search, headers: { host, ...headers } };
};

describe('checkPresignedRequest (the local stand-in for S3’s check)', () => {
  it('passes a presigned PUT of the signed size and a presigned GET', async () => {
    const put = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'b', Key: 'h/u/payload.json', ContentLength: 9 }),
      { expiresIn: 60 },
    );
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'b', Key: 'h/t/1/artifacts/a-b_c.1.csv' }), {
      expiresIn: 60,
    });

    expect(
      checkPresignedRequest(received(put, 'PUT', { 'content-length': '9' }), secretFor, Date.now()),
    ).toBeUndefined();
    expect(checkPresignedRequest(received(get, 'GET'), secretFor, Date.now())).toBeUndefined();
  });

  it.each([
    ['another size than signed', 'PUT', { 'content-length': '10' }, (url: string) => url, 'SignatureDoesNotMatch'],
    [
      'another key',
      'PUT',
      { 'content-length': '9' },
      (url: string) => url.replace('/u/', '/v/'),
      'SignatureDoesNotMatch',
    ],
    ['another method', 'GET', {}, (url: string) => url, 'SignatureDoesNotMatch'],
    [
      'a changed expiry',
      'PUT',
      { 'content-length': '9' },
      (url: string) => url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600'),
      'SignatureDoesNotMatch',
    ],
    [
      'an unknown access key',
      'PUT',
      { 'content-length': '9' },
      (url: string) => url.replace('Credential=local', 'Credential=other'),
      'InvalidAccessKeyId',
    ],
  ])('refuses %s', async (_label, method, headers, tamper, code) => {
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'b', Key: 'h/u/payload.json', ContentLength: 9 }),
      { expiresIn: 60 },
    );

    expect(checkPresignedRequest(received(tamper(url), method, headers), secretFor, Date.now())).toMatchObject({
      status: 403,
      code,
    });
  });

  it('refuses a URL after its expiry, not before', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'b', Key: 'k' }), { expiresIn: 60 });
    const signedAt = Date.now();

    expect(checkPresignedRequest(received(url, 'GET'), secretFor, signedAt + 55_000)).toBeUndefined();
    expect(checkPresignedRequest(received(url, 'GET'), secretFor, signedAt + 62_000)).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Request has expired',
    });
  });

  it('leaves requests without a query signature to the emulator (the SDK signs its own in headers)', () => {
    expect(
      checkPresignedRequest({ method: 'GET', url: '/b/k?list-type=2', headers: { host } }, secretFor, 0),
    ).toBeUndefined();
    expect(checkPresignedRequest({ method: 'GET', url: '/b/k', headers: { host } }, secretFor, 0)).toBeUndefined();
  });
});
