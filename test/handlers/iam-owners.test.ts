import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { useApiHandler } from '../support/handler-environment.js';
import { type HttpEventInput, httpApiEvent, iamCaller, TEST_ACCOUNT, testContext } from '../support/lambda-events.js';

/**
 * Who owns a task under `auth=iam`, through the real API handler and table: each pair of callers is
 * either isolated (neither reads, lists nor cancels the other's tasks) or merged (one owner), exactly as
 * the README's security model says. The events carry the full IAM authorizer context of payload 2.0.
 */

const OTHER_ACCOUNT = '210987654321';
/** Its trust policy would pin sts:RoleSessionName; the deployment lists it, with the path IAM gave it. */
const PER_SESSION_ROLE = `arn:aws:iam::${TEST_ACCOUNT}:role/people/person`;

const api = useApiHandler({ iamPerSessionRoles: [PER_SESSION_ROLE] });

type Caller = Pick<HttpEventInput, 'iam' | 'jwtSub'>;

const invoke = async (input: HttpEventInput) => {
  const result = (await api.handler(httpApiEvent(input), testContext())) as APIGatewayProxyStructuredResultV2;
  return { statusCode: result.statusCode, json: JSON.parse(String(result.body)) };
};

const submit = (who: Caller) =>
  invoke({
    routeKey: 'POST /tasks',
    path: '/tasks',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'echo', payload: {} }),
    ...who,
  });
const get = (taskId: string, who: Caller) =>
  invoke({ routeKey: 'GET /tasks/{taskId}', path: `/tasks/${taskId}`, pathParameters: { taskId }, ...who });
const cancel = (taskId: string, who: Caller) =>
  invoke({ routeKey: 'DELETE /tasks/{taskId}', path: `/tasks/${taskId}`, pathParameters: { taskId }, ...who });
const listedIds = async (who: Caller): Promise<string[]> => {
  const { statusCode, json } = await invoke({ routeKey: 'GET /tasks', path: '/tasks', ...who });
  expect(statusCode).toBe(200);
  return (json.tasks as { taskId: string }[]).map((task) => task.taskId);
};

const POOL_A = 'us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce';
const POOL_B = 'us-east-1:9b0a2c44-1d7e-4b5f-a1c3-6e2f8d0b7a19';
const IDENTITY_1 = 'us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce';
const IDENTITY_2 = 'us-east-1:c1d2e3f4-0a1b-4c2d-9e3f-a4b5c6d7e8f9';

const iam = (context: HttpEventInput['iam']): Caller => ({ iam: context });
/** The same principal with other temporary credentials (a new access key, a later session). */
const withNewKey = (caller: Caller): Caller => ({ iam: { ...caller.iam, accessKey: 'ASIAZZZZZZZZZZZZZZZZ' } });

const alice = iam(iamCaller.user('alice'));

describe.each<[string, Caller, Caller, 'isolated' | 'merged']>([
  [
    'two identities of one Cognito identity pool (one role session ARN)',
    iam(iamCaller.cognitoIdentity(POOL_A, IDENTITY_1)),
    iam(iamCaller.cognitoIdentity(POOL_A, IDENTITY_2)),
    'isolated',
  ],
  [
    'one identity id in two Cognito identity pools',
    iam(iamCaller.cognitoIdentity(POOL_A, IDENTITY_1)),
    iam(iamCaller.cognitoIdentity(POOL_B, IDENTITY_1, { role: 'Cognito_otherAuth_Role' })),
    'isolated',
  ],
  [
    'one Cognito identity with fresh credentials',
    iam(iamCaller.cognitoIdentity(POOL_A, IDENTITY_2)),
    withNewKey(iam(iamCaller.cognitoIdentity(POOL_A, IDENTITY_2))),
    'merged',
  ],
  ['two IAM users', alice, iam(iamCaller.user('bob')), 'isolated'],
  ['one IAM user with two access keys', alice, withNewKey(alice), 'merged'],
  ['the account root and an IAM user named root', iam(iamCaller.root()), iam(iamCaller.user('root')), 'isolated'],
  [
    'two sessions of one role',
    iam(iamCaller.roleSession('reporting', 'nightly')),
    iam(iamCaller.roleSession('reporting', 'adhoc')),
    'merged',
  ],
  ['a role session named like an IAM user', alice, iam(iamCaller.roleSession('reporting', 'alice')), 'isolated'],
  [
    'a session named like a session of a per-session role',
    iam(iamCaller.roleSession('person', 'alice')),
    iam(iamCaller.roleSession('reporting', 'alice')),
    'isolated',
  ],
  [
    'two sessions of a per-session role',
    iam(iamCaller.roleSession('person', 'alice')),
    iam(iamCaller.roleSession('person', 'bob')),
    'isolated',
  ],
  [
    'one session name of a per-session role, assumed twice',
    iam(iamCaller.roleSession('person', 'carol')),
    withNewKey(iam(iamCaller.roleSession('person', 'carol'))),
    'merged',
  ],
  [
    'one role name in two accounts',
    iam(iamCaller.roleSession('reporting', 'nightly')),
    iam(iamCaller.roleSession('reporting', 'nightly', OTHER_ACCOUNT)),
    'isolated',
  ],
  ['a JWT sub equal to an IAM user ARN', alice, { jwtSub: `arn:aws:iam::${TEST_ACCOUNT}:user/alice` }, 'isolated'],
  ['a JWT sub equal to an IAM owner id', alice, { jwtSub: `iam:arn:aws:iam::${TEST_ACCOUNT}:user/alice` }, 'isolated'],
])('%s', (_pair, first, second, expected) => {
  const merged = expected === 'merged';

  it(
    merged ? "lets the second read the first one's task" : "answers the second 404 for the first one's task",
    async () => {
      const { statusCode, json } = await submit(first);
      expect(statusCode).toBe(202);

      expect((await get(json.taskId, first)).statusCode).toBe(200);
      expect((await get(json.taskId, second)).statusCode).toBe(merged ? 200 : 404);
    },
  );

  it(
    merged ? "lists the first one's task to the second" : "lists the first one's task to the first alone",
    async () => {
      const { json } = await submit(first);

      expect(await listedIds(first)).toContain(json.taskId);
      if (merged) expect(await listedIds(second)).toContain(json.taskId);
      else expect(await listedIds(second)).not.toContain(json.taskId);
    },
  );

  it(
    merged
      ? "lets the second cancel the first one's task"
      : "leaves the first one's task as it was on the second's DELETE",
    async () => {
      const { json } = await submit(first);

      const response = await cancel(json.taskId, second);

      expect(response.statusCode).toBe(merged ? 200 : 404);
      expect((await get(json.taskId, first)).json.status).toBe(merged ? 'CANCELLED' : 'QUEUED');
    },
  );
});

describe.each<[string, Caller]>([
  ['a federated user (GetFederationToken)', iam(iamCaller.federatedUser('alice'))],
  [
    'an identity-pool session without its identity',
    iam({ ...iamCaller.cognitoIdentity(POOL_A, IDENTITY_1), cognitoIdentity: null }),
  ],
  ['a Cognito identity without its pool', iam({ ...alice.iam, cognitoIdentity: { identityId: IDENTITY_1 } })],
  [
    "a session named like the enhanced flow's, without an identity",
    iam(iamCaller.roleSession('reporting', 'CognitoIdentityCredentials')),
  ],
  ['an IAM context without userArn', iam({ ...alice.iam, userArn: undefined })],
  ['a malformed userArn', iam({ ...alice.iam, userArn: `arn:aws:iam::${TEST_ACCOUNT}:role/reporting` })],
])('%s', (_caller, caller) => {
  it.each([
    ['POST /tasks', () => submit(caller)],
    ['GET /tasks', () => invoke({ routeKey: 'GET /tasks', path: '/tasks', ...caller })],
    ['GET /tasks/{taskId}', () => get('00000000-0000-4000-8000-000000000000', caller)],
    ['DELETE /tasks/{taskId}', () => cancel('00000000-0000-4000-8000-000000000000', caller)],
  ])('is refused on %s with 403: verified, but no owner is safe to give it', async (_route, call) => {
    const response = await call();

    expect(response.statusCode).toBe(403);
    expect(response.json.error.code).toBe('Forbidden');
  });
});
