import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** A request as the emulator received it: method, the URL as sent (path and query), lower-cased headers. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What S3 answers a presigned request it refuses. */
export interface PresignRefusal {
  readonly status: 400 | 403;
  readonly code: string;
  readonly message: string;
}

/** SigV4 query-string authentication lives at most 7 days. */
const MAX_EXPIRES_SECONDS = 604_800;

/**
 * Checks a SigV4 presigned request (query-string authentication) as S3 does, for the local stack:
 * fauxqs stores whatever reaches it and checks no signature, so without this a presigned URL would
 * never expire locally, and a PUT of another size than the one signed would be stored. Recomputes the
 * signature from the request as received (the signed headers, `content-length` among them for an
 * upload URL) and refuses a mismatch with `SignatureDoesNotMatch`, an expired URL with `AccessDenied`
 * "Request has expired". Requests without `X-Amz-Signature` (the SDK's own, header-signed) pass.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export function checkPresignedRequest(
  request: ReceivedRequest,
  secretFor: (accessKeyId: string) => string | undefined,
  nowMs: number,
): PresignRefusal | undefined {
  const queryStart = request.url.indexOf('?');
  if (queryStart < 0) return undefined;
  const path = request.url.slice(0, queryStart);
  const params = new URLSearchParams(request.url.slice(queryStart + 1));
  const signature = params.get('X-Amz-Signature');
  if (signature === null) return undefined;

  const refuse = (code: string, message: string, status: 400 | 403 = 403): PresignRefusal => ({
    status,
    code,
    message,
  });
  if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    return refuse('AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', 400);
  }
  const [accessKeyId = '', ...scopeParts] = (params.get('X-Amz-Credential') ?? '').split('/');
  const scope = scopeParts.join('/');
  const secret = secretFor(accessKeyId);
  if (secret === undefined) return refuse('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist.');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  const expires = Number(params.get('X-Amz-Expires'));
  if (signedAt === undefined || !Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRES_SECONDS) {
    return refuse('AuthorizationQueryParametersError', 'X-Amz-Date or X-Amz-Expires is missing or invalid.', 400);
  }
  if (nowMs > signedAt + expires * 1000) return refuse('AccessDenied', 'Request has expired');

  const signedHeaders = (params.get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean);
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${headerValue(request.headers[name]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalQuery = [...params]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    params.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const [date = '', region = '', service = '', terminal = ''] = scopeParts;
  let key: Buffer = hmac(`AWS4${secret}`, date);
  for (const part of [region, service, terminal]) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  return undefined;
}

/** S3's XML error body. */
export const s3ErrorXml = (refusal: PresignRefusal): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error>`;

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

const headerValue = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join(',') : (value ?? '');

/** `20261130T032012Z` → epoch ms. */
function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ percent-encoded. */
const uriEncode = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
