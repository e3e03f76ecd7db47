import { type FaultRates, injectSdkFaults } from './fault-injector.js';

/**
 * Loaded by each worker thread of the chaos run's local stack before the worker handler: the same
 * SDK faults as in the main thread, each reported back to it.
 */
export function setUpThread(rates: FaultRates, report: (payload: unknown) => void): void {
  injectSdkFaults(rates, (fault) => report({ fault }));
}
