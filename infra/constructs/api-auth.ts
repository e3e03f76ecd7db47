import { Duration, Validations } from 'aws-cdk-lib';
import type { IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  UserPool,
  type UserPoolClient,
  type UserPoolClientOptions,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { parseRoleArn } from '../../shared/iam-arn.js';
import { settings as defaults, type Settings } from '../settings.js';

/**
 * The scope Cognito puts on every access token its sign-in API (SRP) issues. ID tokens carry no scope,
 * so a route that requires it accepts access tokens only, which is what an API should take.
 */
export const COGNITO_ACCESS_TOKEN_SCOPE = 'aws.cognito.signin.user.admin';
/** The resource server and scope of the API, for tokens from the OAuth endpoints (only with cognitoCallbackUrls). */
export const TASKS_RESOURCE_SERVER = { identifier: 'offload', scope: 'tasks' } as const;

/**
 * Who may call the API. The API handler derives the task owner from the caller (functions/api/owner.ts):
 * the JWT `sub` claim under `jwt` and `cognito`; under `iam` the identity-pool identity, IAM user or
 * role that signed the request (`requestContext.authorizer.iam`). A caller only ever sees its own tasks.
 */
export type ApiAuthMode =
  /** An external OpenID Connect issuer, e.g. the organisation's identity provider. */
  | {
      readonly kind: 'jwt';
      readonly issuer: string;
      readonly audience: readonly string[];
      /** A token must carry one of these in its `scope` claim. @default none required */
      readonly scopes?: readonly string[];
    }
  /**
   * A user pool created by this stack, for when no issuer is given. `oauth`: the authorization code grant
   * for these callback URLs, on the hosted domain `domainPrefix`.auth.<region>.amazoncognito.com.
   */
  | {
      readonly kind: 'cognito';
      readonly oauth?: { readonly callbackUrls: readonly string[]; readonly domainPrefix: string };
      /** Lifetime of access and ID tokens, 5 to 1,440 minutes. @default settings.auth.cognitoTokenMinutes (15) */
      readonly tokenMinutes?: number;
    }
  /** SigV4-signed calls from AWS principals and Cognito identity-pool users. */
  | {
      readonly kind: 'iam';
      /** Role ARNs whose sessions each own their tasks (settings.auth.iamPerSessionRoles). */
      readonly perSessionRoles: readonly string[];
    };

/**
 * Reads the auth mode from CDK context: `auth=iam` (with `iamPerSessionRoles`, comma-separated role
 * ARNs, replacing `settings.auth.iamPerSessionRoles`), else `jwtIssuer` + `jwtAudience`
 * (comma-separated, `jwtScopes` optional), else a Cognito user pool (`cognitoCallbackUrls` +
 * `cognitoDomainPrefix` turn on its OAuth code grant).
 */
export function apiAuthModeFromContext(scope: Construct, settings: Settings = defaults): ApiAuthMode {
  const auth = scope.node.tryGetContext('auth') as string | undefined;
  const perSessionContext = scope.node.tryGetContext('iamPerSessionRoles');
  if (auth === 'iam') {
    const perSessionRoles =
      perSessionContext === undefined ? [...settings.auth.iamPerSessionRoles] : contextList(perSessionContext);
    const invalid = perSessionRoles.filter((arn) => parseRoleArn(arn) === undefined);
    if (invalid.length > 0) {
      throw new Error(
        `iamPerSessionRoles takes IAM role ARNs (arn:aws:iam::ACCOUNT:role/NAME); got ${invalid.join(', ')}.`,
      );
    }
    return { kind: 'iam', perSessionRoles };
  }
  // Only IAM callers have role sessions: the list would do nothing, and asking for it suggests a missing auth=iam.
  if (perSessionContext !== undefined) throw new Error('iamPerSessionRoles needs auth=iam.');
  if (auth !== undefined && auth !== 'jwt') {
    throw new Error(`Unknown auth "${auth}": use "jwt" (the default) or "iam".`);
  }
  const issuer = scope.node.tryGetContext('jwtIssuer') as string | undefined;
  if (issuer === undefined) return { kind: 'cognito', ...cognitoOAuthFromContext(scope) };
  const audience = contextList(scope.node.tryGetContext('jwtAudience'));
  if (audience.length === 0) {
    throw new Error('jwtIssuer needs jwtAudience: API Gateway accepts a token only for a listed audience.');
  }
  const scopes = contextList(scope.node.tryGetContext('jwtScopes'));
  return { kind: 'jwt', issuer, audience, ...(scopes.length > 0 && { scopes }) };
}

/** No OAuth flow unless both callback URLs and a domain prefix are given. */
function cognitoOAuthFromContext(scope: Construct): { oauth?: { callbackUrls: string[]; domainPrefix: string } } {
  const callbackUrls = contextList(scope.node.tryGetContext('cognitoCallbackUrls'));
  const domainPrefix = scope.node.tryGetContext('cognitoDomainPrefix') as string | undefined;
  if (callbackUrls.length === 0 && domainPrefix === undefined) return {};
  if (callbackUrls.length === 0 || !domainPrefix) {
    throw new Error('cognitoCallbackUrls and cognitoDomainPrefix go together: the code grant needs both.');
  }
  for (const url of callbackUrls) {
    if (!url.startsWith('https://') && !/^http:\/\/localhost(:\d+)?\//.test(url)) {
      throw new Error(`Callback URL ${url} must be https (http only for localhost).`);
    }
  }
  return { oauth: { callbackUrls, domainPrefix } };
}

/** The CLI passes `-c key=a,b` as a string; cdk.json may hold an array. */
function contextList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return items.map((item) => String(item).trim()).filter((item) => item !== '');
}

export interface ApiAuthProps {
  /** How callers authenticate; see {@link apiAuthModeFromContext}. */
  readonly mode: ApiAuthMode;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

/** The authorizer every API route uses, and the Cognito user pool behind it when the stack provides one. */
export class ApiAuth extends Construct {
  public readonly authorizer: IHttpRouteAuthorizer;
  /** Scopes every protected route requires (a token must carry one of them); none under IAM. */
  public readonly authorizationScopes: readonly string[];
  /** Only in `cognito` mode. */
  public readonly userPool?: UserPool;
  /** Only in `cognito` mode. */
  public readonly userPoolClient?: UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiAuthProps) {
    super(scope, id);
    const { mode } = props;

    switch (mode.kind) {
      case 'iam':
        this.authorizer = new HttpIamAuthorizer();
        this.authorizationScopes = [];
        break;
      case 'jwt':
        this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', mode.issuer, { jwtAudience: [...mode.audience] });
        this.authorizationScopes = mode.scopes ?? [];
        break;
      case 'cognito': {
        const userPool = new UserPool(this, 'UserPool', {
          // Accounts are created by an administrator; this pool is not a public sign-up page.
          selfSignUpEnabled: false,
          signInAliases: { username: true, email: true },
          passwordPolicy: {
            minLength: 12,
            requireLowercase: true,
            requireUppercase: true,
            requireDigits: true,
            requireSymbols: true,
          },
          // TOTP for everyone. Cognito accepts "required" only when a pool is created, not on an existing one.
          mfa: Mfa.REQUIRED,
          mfaSecondFactor: { otp: true, sms: false },
          accountRecovery: AccountRecovery.EMAIL_ONLY,
          featurePlan: FeaturePlan.ESSENTIALS,
        });
        Validations.of(userPool).acknowledge({
          id: 'AwsSolutions-COG8',
          reason:
            'The Plus tier (threat protection) is billed per monthly active user; this pool is the ' +
            'stand-in identity provider used when no jwtIssuer is given.',
        });
        const tokenValidity = Duration.minutes((props.settings ?? defaults).auth.cognitoTokenMinutes);
        let oauth: Pick<UserPoolClientOptions, 'oAuth' | 'disableOAuth'> = { disableOAuth: true };
        const scopes = [COGNITO_ACCESS_TOKEN_SCOPE];
        if (mode.oauth) {
          const tasksScope = new ResourceServerScope({
            scopeName: TASKS_RESOURCE_SERVER.scope,
            scopeDescription: 'Submit, read, list and cancel your tasks',
          });
          const server = userPool.addResourceServer('TasksResourceServer', {
            identifier: TASKS_RESOURCE_SERVER.identifier,
            scopes: [tasksScope],
          });
          userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: mode.oauth.domainPrefix } });
          oauth = {
            oAuth: {
              // The code grant (with PKCE on the client) only: no implicit grant handing tokens to the URL.
              flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
              scopes: [OAuthScope.OPENID, OAuthScope.resourceServer(server, tasksScope)],
              callbackUrls: [...mode.oauth.callbackUrls],
            },
          };
          scopes.push(`${TASKS_RESOURCE_SERVER.identifier}/${TASKS_RESOURCE_SERVER.scope}`);
        }
        const userPoolClient = userPool.addClient('ApiClient', {
          // A public client: CLIs and tests cannot keep a secret.
          generateSecret: false,
          // SRP only: the password never leaves the client (USER_PASSWORD_AUTH would send it to Cognito).
          authFlows: { userSrp: true },
          ...oauth,
          accessTokenValidity: tokenValidity,
          idTokenValidity: tokenValidity,
          preventUserExistenceErrors: true,
          enableTokenRevocation: true,
        });
        this.userPool = userPool;
        this.userPoolClient = userPoolClient;
        this.authorizer = new HttpUserPoolAuthorizer('UserPoolAuthorizer', userPool, {
          userPoolClients: [userPoolClient],
        });
        // Access tokens only: an ID token has no scope claim, and the API is no place for one.
        this.authorizationScopes = scopes;
        break;
      }
    }
  }
}
