import { PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { UnauthorizedError } from '../../shared/errors.js';
import type { HttpRequest } from './http.js';

/**
 * The verified caller's owner id. API Gateway never invokes the handler for a protected route
 * without one, so a request that arrives without it means the authorizer is missing or was
 * bypassed: the handler refuses it (fails closed) instead of inventing a shared owner.
 */
export function callerOf(request: HttpRequest): string {
  if (request.ownerId === undefined || request.ownerId === '') throw new UnauthorizedError();
  return request.ownerId;
}

/** Throws UnauthorizedError for a request without a caller on any route not in PUBLIC_ROUTES ($default included). */
export function requireCallerUnlessPublic(request: HttpRequest): void {
  if (!(PUBLIC_ROUTES as ReadonlySet<string>).has(request.routeKey)) callerOf(request);
}
