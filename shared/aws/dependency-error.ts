import { DependencyUnavailableError } from '../errors.js';

/** Client faults that are still the service's doing: retrying later can succeed. */
const TRANSIENT_CLIENT_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'RequestThrottled',
  'KMSThrottlingException',
]);

/** Node's names for a connection that failed or was cut: the service may be back soon. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const NETWORK_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'NetworkingError']);

interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly $fault?: 'client' | 'server';
}

/**
 * Server faults, throttling and network failures become DependencyUnavailableError (503, retry);
 * anything else (a client fault, a value the SDK cannot marshal) is a bug on our side and is
 * returned unchanged (500): telling the caller to retry would not help.
 */
export function toDependencyError(dependency: string, error: unknown): Error {
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const transient =
    sdk.$fault === 'server' ||
    TRANSIENT_CLIENT_ERRORS.has(sdk.name ?? '') ||
    NETWORK_ERROR_CODES.has(sdk.code ?? '') ||
    NETWORK_ERROR_NAMES.has(sdk.name ?? '');
  if (transient) return new DependencyUnavailableError(dependency, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
