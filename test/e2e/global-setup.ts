import type { TestProject } from 'vitest/node';
import { e2eSettings, e2eVisibilityTimeoutSeconds } from './local-test-settings.js';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    /** Whether the target registers the diagnostic task types (fail, flaky, crash). */
    diagnosticTasks: boolean;
  }
}

/**
 * Runs the e2e suite against API_URL when set (a deployed stack), else against a local stack
 * started here on a free port.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const deployedUrl = process.env.API_URL;
  if (deployedUrl) {
    project.provide('apiUrl', deployedUrl.replace(/\/+$/, ''));
    project.provide('diagnosticTasks', process.env.OFFLOAD_DIAGNOSTIC_TASKS === 'true');
    return undefined;
  }
  const { startLocalStack } = await import('../../infra/local/local-stack.js');
  const stack = await startLocalStack({
    port: 0,
    diagnosticTasks: true,
    logLevel: (process.env.E2E_LOG_LEVEL as 'INFO' | undefined) ?? 'SILENT',
    settings: e2eSettings,
    visibilityTimeoutSeconds: e2eVisibilityTimeoutSeconds,
  });
  project.provide('apiUrl', stack.url);
  project.provide('diagnosticTasks', true);
  return () => stack.stop();
}
