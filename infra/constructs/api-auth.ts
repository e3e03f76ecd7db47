import { Validations } from 'aws-cdk-lib';
import type { IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AccountRecovery, FeaturePlan, Mfa, UserPool, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { parseRoleArn } from '../../shared/iam-arn.js';
import { settings as defaults, type Settings } from '../settings.js';

/**
 * Who may call the API. The API handler derives the task owner from the caller (functions/api/owner.ts):
 * the JWT `sub` claim under `jwt` and `cognito`; under `iam` the identity-pool identity, IAM user or
 * role that signed the request (`requestContext.authorizer.iam`). A caller only ever sees its own tasks.
 */
export type ApiAuthMode =
  /** An external OpenID Connect issuer, e.g. the organisation's identity provider. */
  | { readonly kind: 'jwt'; readonly issuer: string; readonly audience: readonly string[] }
  /** A user pool created by this stack, for when no issuer is given. */
  | { readonly kind: 'cognito' }
  /** SigV4-signed calls from AWS principals and Cognito identity-pool users. */
  | {
      readonly kind: 'iam';
      /** Role ARNs whose sessions each own their tasks (settings.auth.iamPerSessionRoles). */
      readonly perSessionRoles: readonly string[];
    };

/**
 * Reads the auth mode from CDK context: `auth=iam` (with `iamPerSessionRoles`, comma-separated role
 * ARNs, replacing `settings.auth.iamPerSessionRoles`), else `jwtIssuer` + `jwtAudience`
 * (comma-separated), else a Cognito user pool.
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
  if (issuer === undefined) return { kind: 'cognito' };
  const audience = contextList(scope.node.tryGetContext('jwtAudience'));
  if (audience.length === 0) {
    throw new Error('jwtIssuer needs jwtAudience: API Gateway accepts a token only for a listed audience.');
  }
  return { kind: 'jwt', issuer, audience };
}

/** The CLI passes `-c key=a,b` as a string; cdk.json may hold an array. */
function contextList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return items.map((item) => String(item).trim()).filter((item) => item !== '');
}

export interface ApiAuthProps {
  /** How callers authenticate; see {@link apiAuthModeFromContext}. */
  readonly mode: ApiAuthMode;
}

/** The authorizer every API route uses, and the Cognito user pool behind it when the stack provides one. */
export class ApiAuth extends Construct {
  public readonly authorizer: IHttpRouteAuthorizer;
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
        break;
      case 'jwt':
        this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', mode.issuer, { jwtAudience: [...mode.audience] });
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
          mfa: Mfa.OPTIONAL,
          mfaSecondFactor: { otp: true, sms: false },
          accountRecovery: AccountRecovery.EMAIL_ONLY,
          featurePlan: FeaturePlan.ESSENTIALS,
        });
        Validations.of(userPool).acknowledge(
          {
            id: 'AwsSolutions-COG2',
            reason:
              'MFA is optional (TOTP): scripts and the e2e suite sign in with a password. ' +
              'Production deployments pass jwtIssuer and enforce MFA in their own identity provider.',
          },
          {
            id: 'AwsSolutions-COG8',
            reason:
              'The Plus tier (threat protection) is billed per monthly active user; this pool is the ' +
              'stand-in identity provider used when no jwtIssuer is given.',
          },
        );
        const userPoolClient = userPool.addClient('ApiClient', {
          // A public client: CLIs and tests cannot keep a secret.
          generateSecret: false,
          authFlows: { userSrp: true, userPassword: true },
          preventUserExistenceErrors: true,
          enableTokenRevocation: true,
        });
        this.userPool = userPool;
        this.userPoolClient = userPoolClient;
        this.authorizer = new HttpUserPoolAuthorizer('UserPoolAuthorizer', userPool, {
          userPoolClients: [userPoolClient],
        });
        break;
      }
    }
  }
}
