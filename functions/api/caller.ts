import { PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { ForbiddenError, UnauthorizedError } from '../../shared/errors.js';
import type { HttpRequest } from './http.js';

/**
 * The verified caller's owner id. API Gateway never invokes the handler for a protected route
 * without a verified caller, so a request that arrives without one means the authorizer is missing or
 * was bypassed (401). A verified caller of a kind no owner can safely be given to (a federated user, a
 * token without `sub`) is authenticated but not allowed (403). Either way the handler fails closed
 * instead of inventing a shared owner.
 */
export function callerOf(request: HttpRequest): string {
  if (request.ownerId !== undefined && request.ownerId !== '') return request.ownerId;
  if (request.authenticated) {
    throw new ForbiddenError(
      'The verified caller cannot own tasks: use a JWT with a sub claim, an IAM user or role, or Cognito identity-pool credentials.',
    );
  }
  throw new UnauthorizedError();
}

/** Throws for a request without a caller on any route not in PUBLIC_ROUTES ($default included): see callerOf. */
export function requireCallerUnlessPublic(request: HttpRequest): void {
  if (!(PUBLIC_ROUTES as ReadonlySet<string>).has(request.routeKey)) callerOf(request);
}
