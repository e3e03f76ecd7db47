import { describe, expect, it } from 'vitest';
import { ownerOf } from '../../functions/api/owner.js';
import { isOwnerIdShaped } from '../../shared/owner-id.js';

const POOL = 'eu-west-1:11111111-2222-3333-4444-555555555555';
const IDENTITY = 'eu-west-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

describe('owner ids', () => {
  it.each([
    ['a JWT caller', { jwt: { claims: { sub: 'alice' } } }],
    ['an IAM user', { iam: { userArn: 'arn:aws:iam::123456789012:user/alice' } }],
    ['a role session', { iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/app/session-1' } }],
    [
      'an identity-pool identity',
      {
        iam: {
          userArn: 'arn:aws:sts::123456789012:assumed-role/pool-role/CognitoIdentityCredentials',
          cognitoIdentity: { identityPoolId: POOL, identityId: IDENTITY, amr: ['authenticated'] },
        },
      },
    ],
  ])('of %s have the form the operator commands take (purge-owner, owner-hash)', (_case, authorizer) => {
    const owner = ownerOf(authorizer);

    expect(owner).toBeDefined();
    expect(isOwnerIdShaped(owner ?? '')).toBe(true);
  });

  it.each(['alice', 'jwt:', 'oidc:alice', 'JWT:alice', ''])('refuses %j', (id) => {
    expect(isOwnerIdShaped(id)).toBe(false);
  });
});
