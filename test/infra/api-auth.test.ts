import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { ENV } from '../../shared/env-names.js';
import { buildOffloadStack, logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

const issuer = 'https://login.example.com/';

describe.each([
  {
    mode: 'Cognito (no context)',
    context: {},
    authorizationType: 'JWT',
    authorizer: (userPool: string, client: string) => ({
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Issuer: { 'Fn::Join': ['', Match.arrayWith([{ Ref: userPool }])] },
        Audience: [{ Ref: client }],
      },
    }),
    userPools: 1,
  },
  {
    mode: 'JWT (jwtIssuer, comma-separated jwtAudience)',
    context: { jwtIssuer: issuer, jwtAudience: 'offload-api, offload-cli' },
    authorizationType: 'JWT',
    authorizer: () => ({
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: issuer, Audience: ['offload-api', 'offload-cli'] },
    }),
    userPools: 0,
  },
  {
    mode: 'JWT (auth=jwt, jwtAudience as a list)',
    context: { auth: 'jwt', jwtIssuer: issuer, jwtAudience: ['offload-api'] },
    authorizationType: 'JWT',
    authorizer: () => ({ AuthorizerType: 'JWT', JwtConfiguration: { Issuer: issuer, Audience: ['offload-api'] } }),
    userPools: 0,
  },
  {
    mode: 'IAM (auth=iam)',
    context: { auth: 'iam', jwtIssuer: issuer, jwtAudience: 'ignored' },
    authorizationType: 'AWS_IAM',
    authorizer: undefined,
    userPools: 0,
  },
])('$mode', ({ context, authorizationType, authorizer, userPools }) => {
  const { stack, template } = synthOffloadStack({ context });
  const allRoutes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
  const isPublic = (route: (typeof allRoutes)[number]) => PUBLIC_ROUTES.has(route.Properties.RouteKey);
  const routes = allRoutes.filter((route) => !isPublic(route));

  it(`authorizes every route but the public ones, the catch-all included, with ${authorizationType}`, () => {
    expect(allRoutes).toHaveLength(Object.keys(API_ROUTES).length + 1);
    expect(routes).toHaveLength(Object.keys(API_ROUTES).length + 1 - PUBLIC_ROUTES.size);
    expect(routes.map((route) => route.Properties.RouteKey)).toContain('$default');
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe(authorizationType);
  });

  it('leaves exactly the public routes open', () => {
    const open = allRoutes.filter((route) => route.Properties.AuthorizationType === 'NONE');
    expect(open.map((route) => route.Properties.RouteKey).sort()).toEqual([...PUBLIC_ROUTES].sort());
    for (const route of open) expect(route.Properties.AuthorizerId).toBeUndefined();
  });

  it('attaches the one authorizer to every route, or none under IAM', () => {
    const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer');
    if (!authorizer) {
      expect(authorizers).toEqual({});
      for (const route of routes) expect(route.Properties.AuthorizerId).toBeUndefined();
      return;
    }
    const [authorizerId] = Object.keys(authorizers);
    expect(Object.keys(authorizers)).toHaveLength(1);
    for (const route of routes) expect(route.Properties.AuthorizerId).toEqual({ Ref: authorizerId });
    const pool = userPools ? logicalIdOf(stack, 'ApiAuth/UserPool') : '';
    const client = userPools ? logicalIdOf(stack, 'ApiAuth/UserPool/ApiClient') : '';
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', authorizer(pool, client));
  });

  it(userPools ? 'creates a user pool and outputs its ids' : 'creates no user pool', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', userPools);
    const outputs = Object.keys(template.findOutputs('*'));
    const poolOutputs = outputs.filter((name) => name.startsWith('UserPool'));
    expect(poolOutputs).toEqual(userPools ? ['UserPoolId', 'UserPoolClientId'] : []);
  });
});

describe('the Cognito user pool', () => {
  const { template } = synthOffloadStack();

  it('accepts no self sign-up and demands strong passwords', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
    });
  });

  it('has a public client: no secret for CLIs and tests to leak', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', { GenerateSecret: false });
  });
});

describe('iamPerSessionRoles context', () => {
  const roles = ['arn:aws:iam::123456789012:role/people/person', 'arn:aws:iam::123456789012:role/staff'];
  const variablesOf = (context: Record<string, unknown>) =>
    Object.values(synthOffloadStack({ context }).template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Environment.Variables as Record<string, unknown>,
    );

  it.each([
    ['comma-separated', roles.join(', ')],
    ['as a list', roles],
  ])('hands the roles, %s, to every function under auth=iam', (_form, value) => {
    const variables = variablesOf({ auth: 'iam', iamPerSessionRoles: value });

    expect(variables.length).toBeGreaterThan(0);
    for (const v of variables) expect(v[ENV.iamPerSessionRoles]).toBe(roles.join(','));
  });

  it('sets no per-session roles by default', () => {
    for (const v of variablesOf({ auth: 'iam' })) expect(v).not.toHaveProperty(ENV.iamPerSessionRoles);
  });
});

describe('invalid auth context', () => {
  it.each([
    [{ auth: 'basic' }, /Unknown auth "basic"/],
    [{ jwtIssuer: issuer }, /jwtIssuer needs jwtAudience/],
    [{ jwtIssuer: issuer, jwtAudience: ' , ' }, /jwtIssuer needs jwtAudience/],
    [{ iamPerSessionRoles: 'arn:aws:iam::123456789012:role/person' }, /iamPerSessionRoles needs auth=iam/],
    [
      {
        auth: 'iam',
        iamPerSessionRoles: 'arn:aws:iam::123456789012:role/a,arn:aws:sts::123456789012:assumed-role/a/b',
      },
      /takes IAM role ARNs .* got arn:aws:sts::123456789012:assumed-role\/a\/b\.$/,
    ],
  ])('rejects %j', (context, message) => {
    expect(() => buildOffloadStack({ context })).toThrow(message);
  });
});
