import { createLocalJWKSet, errors, jwtVerify } from 'jose';
import { DEV_TOKEN_ALGORITHM, DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER, type DevKey } from './dev-key.js';

/** `requestContext.authorizer` of a payload 2.0 event for a route with a JWT authorizer. */
export interface JwtAuthorizerContext {
  readonly jwt: {
    readonly claims: Record<string, string>;
    /** The route's authorization scopes the token matched; null when the route requires none (ours). */
    readonly scopes: string[] | null;
  };
}

export type Authorization =
  | { readonly authorized: true; readonly context: JwtAuthorizerContext }
  /** `reason` is for the caller (the `error_description` of the challenge); undefined when no token was sent. */
  | { readonly authorized: false; readonly reason?: string };

export type LocalAuthorizer = (authorizationHeader: string | undefined) => Promise<Authorization>;

/**
 * Plays an API Gateway HTTP API JWT authorizer whose identity source is the Authorization header:
 * the token alone or after `Bearer`; RS256 signature by a key whose `kid` matches; `iss` equal to the
 * issuer; `aud` (or, without one, `client_id`) among the audiences; `exp` present, and `exp`, `nbf` and
 * `iat` checked against the clock. The verified claims reach the handler the way API Gateway passes them: every
 * value a string. Hand-written on jose because no library emulates the authorizer.
 */
export function createLocalAuthorizer(
  key: DevKey,
  options: { readonly issuer?: string; readonly audience?: readonly string[] } = {},
): LocalAuthorizer {
  const keys = createLocalJWKSet({ keys: [key.publicJwk] });
  const issuer = options.issuer ?? DEV_TOKEN_ISSUER;
  const audiences = options.audience ?? [DEV_TOKEN_AUDIENCE];
  return async (header) => {
    const token = header?.trim().replace(/^bearer(\s+|$)/i, '');
    if (!token) return { authorized: false };
    try {
      // `exp` is required: a real issuer's tokens always carry it, and one that never expires is a forgery risk.
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        algorithms: [DEV_TOKEN_ALGORITHM],
        requiredClaims: ['exp'],
      });
      const audience = payload.aud ?? payload.client_id;
      const offered = Array.isArray(audience) ? audience : [audience];
      if (!offered.some((value) => typeof value === 'string' && audiences.includes(value))) {
        return { authorized: false, reason: 'the token has an invalid audience' };
      }
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000) {
        return { authorized: false, reason: 'the token was issued in the future' };
      }
      return { authorized: true, context: { jwt: { claims: stringClaims(payload), scopes: null } } };
    } catch (error) {
      return { authorized: false, reason: reasonOf(error) };
    }
  };
}

/** The `error_description` API Gateway would send; never the token itself. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.reason === 'missing'
      ? `the token has no ${error.claim} claim`
      : `the token has an invalid ${error.claim} claim`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token was not signed by a known key';
  return 'the token is malformed';
}

/**
 * API Gateway hands claims to the integration as strings: numbers and booleans in decimal, arrays
 * as `[a b]` and objects as `map[k:v]` (how its Go runtime prints them).
 */
function stringClaims(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(payload).map(([name, value]) => [name, claimString(value)]));
}

function claimString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(claimString).join(' ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, v]) => `${k}:${claimString(v)}`).join(' ')}]`;
  }
  return String(value);
}
