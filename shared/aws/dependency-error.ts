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

interface SdkErrorShape {
  readonly name?: string;
  readonly $fault?: 'client' | 'server';
}

/**
 * Server faults, throttling and network failures become DependencyUnavailableError (503, retry);
 * other client faults are bugs on our side and are returned unchanged (500).
 */
export function toDependencyError(dependency: string, error: unknown): Error {
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  if (sdk.$fault === 'client' && !TRANSIENT_CLIENT_ERRORS.has(sdk.name ?? '')) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return new DependencyUnavailableError(dependency, { cause: error });
}
