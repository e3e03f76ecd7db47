import { isSameRole, parseCallerArn, type RoleRef } from '../../shared/iam-arn.js';
import { ownerIdOf } from '../../shared/owner-id.js';

/** `requestContext.authorizer.jwt` of a payload 2.0 event: the claims of a token API Gateway verified. */
export interface JwtAuthorizerContext {
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly scopes?: readonly string[] | null;
}

/** `requestContext.authorizer.iam.cognitoIdentity`: set when an identity pool issued the credentials. */
export interface CognitoIdentityContext {
  /** Authentication methods: `authenticated` or `unauthenticated`, then the login providers. */
  readonly amr?: readonly string[];
  /** `REGION:GUID`, one per end user of the pool. */
  readonly identityId?: string;
  /** `REGION:GUID` of the identity pool. */
  readonly identityPoolId?: string;
}

/** `requestContext.authorizer.iam` of a payload 2.0 event: every field API Gateway's IAM authorizer fills in. */
export interface IamAuthorizerContext {
  /** Access key id that signed the request (`AKIA…` long-term, `ASIA…` temporary). */
  readonly accessKey?: string;
  /** Account of the caller. */
  readonly accountId?: string;
  /** Principal id of the caller (`AIDA…` for a user, `AROA…:session` for a role session). */
  readonly callerId?: string;
  readonly cognitoIdentity?: CognitoIdentityContext | null;
  /** AWS Organizations id of the caller's account, when it belongs to one. */
  readonly principalOrgId?: string | null;
  /** ARN of the caller: `…:user/…`, `…:root`, `…:assumed-role/ROLE/SESSION`, `…:federated-user/NAME`. */
  readonly userArn?: string;
  /** Unique id of the caller (`aws:userid`). */
  readonly userId?: string;
}

/** `requestContext.authorizer` of a payload 2.0 event, for either authorizer type the stack can use. */
export interface AuthorizerContext {
  readonly jwt?: JwtAuthorizerContext;
  readonly iam?: IamAuthorizerContext;
}

/** How far the deployment trusts role session names; see {@link ownerOf}. */
export interface OwnerPolicy {
  /**
   * Roles whose trust policy fixes the session name to the caller's identity (`sts:RoleSessionName`
   * pinned, e.g. to `${aws:username}`): each of their sessions owns its own tasks. @default none
   */
  readonly perSessionRoles?: readonly RoleRef[];
}

/** The session name Cognito identity pools give every session of the enhanced flow. */
const COGNITO_ENHANCED_FLOW_SESSION = 'CognitoIdentityCredentials';

/** Cognito's pattern for identity ids and identity pool ids: `REGION:GUID`, at most 55 characters. */
const COGNITO_ID = /^[\w-]+:[0-9a-f-]+$/;
const isCognitoId = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 55 && COGNITO_ID.test(value);

const isPresent = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

/**
 * The owner of the verified caller's tasks, read only from what the authorizer filled in (never from a
 * header or the body); undefined when there is no caller that can own tasks, which the core answers
 * with 401 (functions/api/caller.ts) rather than fall back to an owner some callers would share.
 *
 * - JWT: `jwt:<sub>`.
 * - Cognito identity pool credentials: `cognito:<identityPoolId>:<identityId>`. Every identity of a pool
 *   signs as the same role session, so only `cognitoIdentity` tells them apart.
 * - IAM user or account root: `iam:<userArn>`.
 * - Role session: `iam:arn:…:assumed-role/<role>`, the role without the session: whoever may assume the
 *   role chooses the session name, so the name proves nothing. For a role in `perSessionRoles`, whose trust
 *   policy fixes the name, the session: `iam:arn:…:assumed-role/<role>/<session>`.
 * - Federated user (GetFederationToken): none. The name is the choice of whoever called
 *   GetFederationToken, and the context does not say who that was.
 */
export function ownerOf(authorizer: AuthorizerContext | undefined, policy: OwnerPolicy = {}): string | undefined {
  const sub = authorizer?.jwt?.claims?.sub;
  if (typeof sub === 'string' && sub) return ownerIdOf('jwt', sub);
  const iam = authorizer?.iam;
  return iam ? iamOwnerOf(iam, policy) : undefined;
}

function iamOwnerOf(iam: IamAuthorizerContext, policy: OwnerPolicy): string | undefined {
  const cognito = iam.cognitoIdentity;
  // Callers without identity-pool credentials get null here; a half-filled identity is refused, not ignored.
  if (cognito && (isPresent(cognito.identityId) || isPresent(cognito.identityPoolId))) {
    const { identityId, identityPoolId } = cognito;
    // Both ids contain exactly one colon, so the owner splits back into pool and identity unambiguously.
    return isCognitoId(identityPoolId) && isCognitoId(identityId)
      ? ownerIdOf('cognito', `${identityPoolId}:${identityId}`)
      : undefined;
  }
  if (typeof iam.userArn !== 'string') return undefined;
  const principal = parseCallerArn(iam.userArn);
  switch (principal?.kind) {
    case 'user':
    case 'root':
      return ownerIdOf('iam', principal.arn);
    case 'assumed-role': {
      // An identity-pool session that arrives without its identity cannot be told apart from the pool's other users.
      if (principal.sessionName === COGNITO_ENHANCED_FLOW_SESSION) return undefined;
      const perSession = policy.perSessionRoles?.some((role) => isSameRole(role, principal.role)) ?? false;
      return ownerIdOf('iam', perSession ? principal.arn : principal.arn.slice(0, principal.arn.lastIndexOf('/')));
    }
    default:
      return undefined;
  }
}
