import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEV_TOKEN_AUDIENCE,
  DEV_TOKEN_ISSUER,
  type DevKey,
  generateDevKey,
  loadOrCreateDevKey,
  mintDevToken,
} from '../../infra/local/dev-key.js';
import { createLocalAuthorizer } from '../../infra/local/local-authorizer.js';

let key: DevKey;
let otherKey: DevKey;
let dir: string;

beforeAll(async () => {
  [key, otherKey] = await Promise.all([generateDevKey(), generateDevKey()]);
  dir = await mkdtemp(join(tmpdir(), 'offload-dev-key-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('the local JWT authorizer', () => {
  it('fills the claims as API Gateway does: every value a string, no scopes', async () => {
    const authorize = createLocalAuthorizer(key);
    const token = await mintDevToken(key, { sub: 'alice', scope: 'tasks:read tasks:write' });

    const verdict = await authorize(`Bearer ${token}`);

    expect(verdict).toEqual({
      authorized: true,
      context: {
        jwt: {
          claims: {
            sub: 'alice',
            iss: DEV_TOKEN_ISSUER,
            aud: DEV_TOKEN_AUDIENCE,
            scope: 'tasks:read tasks:write',
            iat: expect.stringMatching(/^\d+$/),
            exp: expect.stringMatching(/^\d+$/),
          },
          scopes: null,
        },
      },
    });
  });

  it('renders array and object claims the way API Gateway does', async () => {
    const signingKey = await import('jose').then(({ importJWK }) => importJWK(key.privateJwk, 'RS256'));
    const token = await new SignJWT({ groups: ['admin', 'ops'], meta: { b: 1, a: true } })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setSubject('alice')
      .setIssuer(DEV_TOKEN_ISSUER)
      .setAudience([DEV_TOKEN_AUDIENCE, 'other'])
      .setExpirationTime('1h')
      .sign(signingKey);

    const verdict = await createLocalAuthorizer(key)(token);

    expect(verdict.authorized && verdict.context.jwt.claims).toMatchObject({
      groups: '[admin ops]',
      meta: 'map[a:true b:1]',
      aud: `[${DEV_TOKEN_AUDIENCE} other]`,
    });
  });

  it('accepts the token with or without the Bearer prefix', async () => {
    const token = await mintDevToken(key, { sub: 'alice' });
    const authorize = createLocalAuthorizer(key);

    expect((await authorize(token)).authorized).toBe(true);
    expect((await authorize(`bearer  ${token}`)).authorized).toBe(true);
  });

  it.each([
    ['no header', async () => undefined, undefined],
    ['an empty header', async () => 'Bearer ', undefined],
    ['garbage', async () => 'Bearer not.a.jwt', /malformed/],
    ['an expired token', async () => mintDevToken(key, { sub: 'a', expiresAt: nowSeconds() - 60 }), /expired/],
    ['a wrong issuer', async () => mintDevToken(key, { sub: 'a', issuer: 'someone-else' }), /iss/],
    ['a wrong audience', async () => mintDevToken(key, { sub: 'a', audience: 'another-api' }), /audience/],
    ['another key', async () => mintDevToken(otherKey, { sub: 'a' }), /known key|signature/],
    [
      'a changed payload',
      async () => {
        const [header, , signature] = (await mintDevToken(key, { sub: 'alice' })).split('.');
        const forged = Buffer.from(JSON.stringify({ sub: 'mallory', iss: DEV_TOKEN_ISSUER, aud: DEV_TOKEN_AUDIENCE }));
        return `${header}.${forged.toString('base64url')}.${signature}`;
      },
      /signature/,
    ],
    [
      'an unsigned token (alg none)',
      async () =>
        new UnsecuredJWT({ sub: 'mallory' })
          .setIssuer(DEV_TOKEN_ISSUER)
          .setAudience(DEV_TOKEN_AUDIENCE)
          .setExpirationTime('1h')
          .encode(),
      /./,
    ],
    [
      'a token not valid yet',
      async () => {
        const signingKey = await import('jose').then(({ importJWK }) => importJWK(key.privateJwk, 'RS256'));
        return new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: key.kid })
          .setSubject('a')
          .setIssuer(DEV_TOKEN_ISSUER)
          .setAudience(DEV_TOKEN_AUDIENCE)
          .setNotBefore('1h')
          .setExpirationTime('2h')
          .sign(signingKey);
      },
      /nbf/,
    ],
    [
      // A real issuer's tokens always expire; one that never does is a forgery or a misconfigured issuer.
      'a token without exp',
      async () => {
        const signingKey = await import('jose').then(({ importJWK }) => importJWK(key.privateJwk, 'RS256'));
        return new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: key.kid })
          .setSubject('a')
          .setIssuer(DEV_TOKEN_ISSUER)
          .setAudience(DEV_TOKEN_AUDIENCE)
          .setIssuedAt()
          .sign(signingKey);
      },
      /no exp claim/,
    ],
  ])('refuses %s', async (_case, header, reason) => {
    const verdict = await createLocalAuthorizer(key)(await header());

    expect(verdict.authorized).toBe(false);
    if (!verdict.authorized) {
      if (reason) expect(verdict.reason).toMatch(reason);
      else expect(verdict.reason).toBeUndefined();
    }
  });
});

describe('the dev key file', () => {
  it('is created once, readable by its owner only, and shared by concurrent callers', async () => {
    const path = join(dir, 'nested', 'dev-key.json');

    const [first, second] = await Promise.all([loadOrCreateDevKey(path), loadOrCreateDevKey(path)]);
    const again = await loadOrCreateDevKey(path);

    expect(second.kid).toBe(first.kid);
    expect(again.kid).toBe(first.kid);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("keeps the project's .offload/ out of git with a .gitignore of its own, left as the user edits it", async () => {
    const path = join(dir, 'project', '.offload', 'dev-key.json');

    await loadOrCreateDevKey(path);
    expect(await readFile(join(dir, 'project', '.offload', '.gitignore'), 'utf8')).toBe('*\n');

    await writeFile(join(dir, 'project', '.offload', '.gitignore'), '*\n!README\n');
    await loadOrCreateDevKey(join(dir, 'project', '.offload', 'other-key.json'));
    expect(await readFile(join(dir, 'project', '.offload', '.gitignore'), 'utf8')).toBe('*\n!README\n');
  });

  it('signs tokens that a stack loading the same file accepts', async () => {
    const path = join(dir, 'shared-key.json');
    const token = await mintDevToken(await loadOrCreateDevKey(path), { sub: 'bob' });

    const verdict = await createLocalAuthorizer(await loadOrCreateDevKey(path))(token);

    expect(verdict.authorized && verdict.context.jwt.claims.sub).toBe('bob');
  });
});
