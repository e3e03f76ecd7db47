import { describe, expect, it } from 'vitest';
import { type IamAuthorizerContext, type OwnerPolicy, ownerOf } from '../../functions/api/owner.js';
import { parseRoleArn, type RoleRef } from '../../shared/iam-arn.js';
import { iamCaller, TEST_ACCOUNT } from '../support/lambda-events.js';

const POOL = 'us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce';
const IDENTITY = 'us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce';

const role = (arn: string): RoleRef => parseRoleArn(arn) ?? expect.unreachable(`not a role ARN: ${arn}`);
const PER_SESSION: OwnerPolicy = { perSessionRoles: [role(`arn:aws:iam::${TEST_ACCOUNT}:role/people/person`)] };

const iamOwner = (iam: IamAuthorizerContext, policy?: OwnerPolicy) => ownerOf({ iam }, policy);

describe('the owner of an IAM caller', () => {
  it.each([
    ['a Cognito identity', iamCaller.cognitoIdentity(POOL, IDENTITY), `cognito:${POOL}:${IDENTITY}`],
    [
      'an unauthenticated (guest) Cognito identity',
      iamCaller.cognitoIdentity(POOL, IDENTITY, { authenticated: false }),
      `cognito:${POOL}:${IDENTITY}`,
    ],
    ['an IAM user', iamCaller.user('alice'), `iam:arn:aws:iam::${TEST_ACCOUNT}:user/alice`],
    [
      'an IAM user with a path',
      iamCaller.user('alice', TEST_ACCOUNT, '/ops/'),
      `iam:arn:aws:iam::${TEST_ACCOUNT}:user/ops/alice`,
    ],
    ['the account root', iamCaller.root(), `iam:arn:aws:iam::${TEST_ACCOUNT}:root`],
    [
      'a role session: the role, not the session',
      iamCaller.roleSession('reporting', 'nightly-run'),
      `iam:arn:aws:sts::${TEST_ACCOUNT}:assumed-role/reporting`,
    ],
    [
      'a service-linked role session',
      iamCaller.roleSession('AWSServiceRoleForECS', 'ecs-service-scheduler'),
      `iam:arn:aws:sts::${TEST_ACCOUNT}:assumed-role/AWSServiceRoleForECS`,
    ],
    [
      'a role session in another partition',
      {
        ...iamCaller.roleSession('reporting', 'run'),
        userArn: 'arn:aws-cn:sts::210987654321:assumed-role/reporting/run',
      },
      'iam:arn:aws-cn:sts::210987654321:assumed-role/reporting',
    ],
  ])('is derived for %s', (_kind, iam, expected) => {
    expect(iamOwner(iam)).toBe(expected);
  });

  it('is the session for a role listed as per-session, matched by name whatever its path or case', () => {
    expect(iamOwner(iamCaller.roleSession('person', 'alice'), PER_SESSION)).toBe(
      `iam:arn:aws:sts::${TEST_ACCOUNT}:assumed-role/person/alice`,
    );
    expect(iamOwner(iamCaller.roleSession('Person', 'alice'), PER_SESSION)).toBe(
      `iam:arn:aws:sts::${TEST_ACCOUNT}:assumed-role/Person/alice`,
    );
  });

  it.each([
    [
      'a role of the same name in another account',
      iamCaller.roleSession('person', 'alice', '210987654321'),
      'iam:arn:aws:sts::210987654321:assumed-role/person',
    ],
    [
      'another role',
      iamCaller.roleSession('persons', 'alice'),
      `iam:arn:aws:sts::${TEST_ACCOUNT}:assumed-role/persons`,
    ],
  ])('is the role for %s: the list names another role', (_case, iam, expected) => {
    expect(iamOwner(iam, PER_SESSION)).toBe(expected);
  });

  it('is the identity, not the per-session role, for a Cognito identity', () => {
    const iam = iamCaller.cognitoIdentity(POOL, IDENTITY, { role: 'person' });

    expect(iamOwner(iam, PER_SESSION)).toBe(`cognito:${POOL}:${IDENTITY}`);
  });

  it.each([
    ['an empty cognitoIdentity', { cognitoIdentity: {} }],
    ['cognitoIdentity with empty ids', { cognitoIdentity: { identityId: '', identityPoolId: '' } }],
    ['cognitoIdentity with null ids', { cognitoIdentity: { identityId: null, identityPoolId: null } }],
  ])('ignores %s for a caller without identity-pool credentials', (_case, overrides) => {
    const iam = { ...iamCaller.user('alice'), ...overrides } as IamAuthorizerContext;

    expect(iamOwner(iam)).toBe(`iam:arn:aws:iam::${TEST_ACCOUNT}:user/alice`);
  });
});

describe('an IAM caller without an owner (answered 401)', () => {
  const cognito = iamCaller.cognitoIdentity(POOL, IDENTITY);

  it.each<[string, IamAuthorizerContext]>([
    ['a federated user, whose name its issuer chose', iamCaller.federatedUser('alice')],
    ['an identity-pool session whose identity is missing', { ...cognito, cognitoIdentity: null }],
    ['a Cognito identity without its pool', { ...cognito, cognitoIdentity: { identityId: IDENTITY } }],
    ['a Cognito identity without its id', { ...cognito, cognitoIdentity: { identityPoolId: POOL } }],
    [
      'a Cognito identity id with an extra colon',
      { ...cognito, cognitoIdentity: { identityPoolId: POOL, identityId: `${IDENTITY}:x` } },
    ],
    ['no userArn', { ...iamCaller.user('alice'), userArn: undefined }],
    ['an empty userArn', { ...iamCaller.user('alice'), userArn: '' }],
    ['a userArn that is not a string', { ...iamCaller.user('alice'), userArn: 42 as unknown as string }],
    ['a role ARN as userArn', { ...iamCaller.user('alice'), userArn: `arn:aws:iam::${TEST_ACCOUNT}:role/reporting` }],
    ['a group ARN as userArn', { ...iamCaller.user('alice'), userArn: `arn:aws:iam::${TEST_ACCOUNT}:group/admins` }],
    [
      'a session without a session name',
      { ...iamCaller.user('a'), userArn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/r` },
    ],
    [
      'a session name with a slash',
      { ...iamCaller.user('a'), userArn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/r/alice/x` },
    ],
    ['a short account id', { ...iamCaller.user('a'), userArn: 'arn:aws:iam::12345:user/alice' }],
    ['a service other than IAM or STS', { ...iamCaller.user('a'), userArn: `arn:aws:s3:::${TEST_ACCOUNT}:user/alice` }],
    ['trailing whitespace', { ...iamCaller.user('a'), userArn: `arn:aws:iam::${TEST_ACCOUNT}:user/alice ` }],
  ])('is %s', (_case, iam) => {
    expect(iamOwner(iam)).toBeUndefined();
    expect(iamOwner(iam, PER_SESSION)).toBeUndefined();
  });

  it('is no authorizer context, or an empty IAM one', () => {
    expect(ownerOf(undefined)).toBeUndefined();
    expect(ownerOf({})).toBeUndefined();
    expect(ownerOf({ iam: {} })).toBeUndefined();
  });
});

describe('owners of different kinds of caller', () => {
  it('never coincide, even when a JWT sub, a user, a role session and an identity use the same text', () => {
    const arn = `arn:aws:iam::${TEST_ACCOUNT}:user/alice`;
    const owners = [
      ownerOf({ jwt: { claims: { sub: arn } } }),
      ownerOf({ jwt: { claims: { sub: `iam:${arn}` } } }),
      iamOwner(iamCaller.user('alice')),
      iamOwner(iamCaller.roleSession('alice', 'alice')),
      iamOwner(iamCaller.roleSession('alice', 'alice'), {
        perSessionRoles: [role(`arn:aws:iam::${TEST_ACCOUNT}:role/alice`)],
      }),
      iamOwner(iamCaller.cognitoIdentity(POOL, IDENTITY)),
      iamOwner(iamCaller.root()),
      iamOwner(iamCaller.user('root')),
    ];

    expect(owners.every((owner) => typeof owner === 'string')).toBe(true);
    expect(new Set(owners).size).toBe(owners.length);
  });
});

describe('role ARNs for the per-session list', () => {
  it.each([
    [`arn:aws:iam::${TEST_ACCOUNT}:role/person`, { partition: 'aws', accountId: TEST_ACCOUNT, roleName: 'person' }],
    [
      `arn:aws-us-gov:iam::${TEST_ACCOUNT}:role/team/a/person`,
      { partition: 'aws-us-gov', accountId: TEST_ACCOUNT, roleName: 'person' },
    ],
  ])('parses %s', (arn, expected) => {
    expect(parseRoleArn(arn)).toEqual(expected);
  });

  it.each([
    `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/person/alice`,
    `arn:aws:iam::${TEST_ACCOUNT}:user/person`,
    `arn:aws:iam::${TEST_ACCOUNT}:role/`,
    'arn:aws:iam::12345:role/person',
    'person',
  ])('refuses %s', (arn) => {
    expect(parseRoleArn(arn)).toBeUndefined();
  });
});
