import type { TestProject } from 'vitest/node';
import { lanes as demoLanes } from '../../functions/tasks/demo.js';
import { generateDevKey, mintDevToken } from '../../infra/local/dev-key.js';
import { settings, visibilityTimeoutSeconds } from '../../infra/settings.js';
import { E2E_LONG_LANE_TIMEOUT_SECONDS, e2eSettings, e2eVisibilityTimeoutSeconds } from './local-test-settings.js';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    /** Whether the target registers the diagnostic task types (`diagnosticTaskTypes`, functions/tasks/registry.ts). */
    diagnosticTasks: boolean;
    /** Bearer token of the suite's caller; '' when the target needs none. */
    apiToken: string;
    /** A second caller, for the owner-isolation tests; '' when not given (API_OTHER_TOKEN). */
    otherApiToken: string;
    /** A token of the right issuer that has expired; '' when not given (API_EXPIRED_TOKEN). */
    expiredApiToken: string;
    /**
     * How long the target takes to take over a crashed attempt: its visibility timeout. Tests that wait
     * for crash recovery skip themselves, saying why, when it is too slow for a test run.
     */
    crashRecovery: { visibilityTimeoutSeconds: number };
    /**
     * The target's worker timeouts: the default lane's and the `long` lane's. The tests that outlast the
     * default lane skip themselves, saying why, when that would take minutes.
     */
    laneTimeouts: { defaultSeconds: number; longSeconds: number };
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
    project.provide('apiToken', process.env.API_TOKEN ?? '');
    project.provide('otherApiToken', process.env.API_OTHER_TOKEN ?? '');
    project.provide('expiredApiToken', process.env.API_EXPIRED_TOKEN ?? '');
    // A deployed stack has the repo's settings unless it was deployed with others: say so with these variables.
    project.provide('crashRecovery', {
      visibilityTimeoutSeconds: Number(
        process.env.OFFLOAD_E2E_VISIBILITY_TIMEOUT_SECONDS ?? visibilityTimeoutSeconds(settings.worker),
      ),
    });
    project.provide('laneTimeouts', {
      defaultSeconds: Number(process.env.OFFLOAD_E2E_WORKER_TIMEOUT_SECONDS ?? settings.worker.timeoutSeconds),
      longSeconds: Number(process.env.OFFLOAD_E2E_LONG_LANE_TIMEOUT_SECONDS ?? demoLanes.long.timeoutSeconds),
    });
    return undefined;
  }
  const { startLocalStack } = await import('../../infra/local/local-stack.js');
  const environment = { ...process.env };
  const stack = await startLocalStack({
    port: 0,
    diagnosticTasks: true,
    logLevel: (process.env.E2E_LOG_LEVEL as 'INFO' | undefined) ?? 'SILENT',
    settings: e2eSettings,
    visibilityTimeoutSeconds: e2eVisibilityTimeoutSeconds,
    // Receivers run on this machine (test/e2e/callbacks.test.ts); the refusal without it is tested on its own stack.
    allowLocalCallbacks: true,
    // A key of its own: the run neither needs nor touches the developer's .offload/dev-key.json.
    devKey: await generateDevKey(),
  });
  restoreFunctionVariables(environment);
  project.provide('apiUrl', stack.url);
  project.provide('diagnosticTasks', true);
  project.provide('crashRecovery', { visibilityTimeoutSeconds: e2eVisibilityTimeoutSeconds });
  project.provide('laneTimeouts', {
    defaultSeconds: e2eSettings.worker.timeoutSeconds,
    longSeconds: E2E_LONG_LANE_TIMEOUT_SECONDS,
  });
  // Fresh owners per run: a stack with a data dir may still hold an earlier run's tasks.
  const run = Date.now().toString(36);
  project.provide('apiToken', await mintDevToken(stack.devKey, { sub: `e2e-${run}` }));
  project.provide('otherApiToken', await mintDevToken(stack.devKey, { sub: `e2e-other-${run}` }));
  const anHourAgo = Math.floor(Date.now() / 1000) - 3600;
  project.provide('expiredApiToken', await mintDevToken(stack.devKey, { sub: `e2e-${run}`, expiresAt: anHourAgo }));
  return () => stack.stop();
}

/**
 * The local stack sets the functions' variables (table, queue, POWERTOOLS_*) in this process, and
 * the workers of every project fork from it: put them back once the handler modules have read them
 * at import, so tests elsewhere see a clean environment. Region and credentials stay: the stack's SDK
 * clients resolve them lazily, at their first call (endpoints are passed to them explicitly).
 */
const RESOLVED_LAZILY = new Set(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);

function restoreFunctionVariables(original: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) {
    if (RESOLVED_LAZILY.has(name)) continue;
    if (original[name] === undefined) delete process.env[name];
    else process.env[name] = original[name];
  }
}
