import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LaneTable } from '../../shared/lanes.js';

/** What a running `offload dev` (`npm start`) tells operator commands (`npm run redrive -- --local`) about itself. */
export interface LocalStackState {
  readonly pid: number;
  readonly url: string;
  readonly region: string;
  readonly endpoints: {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly s3?: string;
    readonly scheduler?: string;
  };
  readonly tableName: string;
  readonly queueUrl: string;
  /** The task data bucket and the key its object prefixes are hashed with (purge-owner). */
  readonly taskDataBucket?: string;
  readonly deploymentKeyFile?: string;
  /** The schedule table and the Scheduler group its schedules are in (purge-owner). */
  readonly scheduleTableName?: string;
  readonly scheduleGroupName?: string;
  /** Every lane's queues (a redrive sends each task back to its own). */
  readonly lanes?: LaneTable;
}

/** The project's local folder (in the working directory): dev keys and the running stack's state. */
export const LOCAL_DIR = '.offload';

export const LOCAL_STATE_FILE = join(LOCAL_DIR, 'local-stack.json');

/**
 * Creates the folder of `path`. The project's `.offload/` gets a `.gitignore` of its own (`*`): it holds the
 * dev key and the deployment key, which must never be committed, whatever the project's own `.gitignore` says.
 */
export async function makeLocalDir(path: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  if (basename(dir) !== LOCAL_DIR) return;
  await writeFile(join(dir, '.gitignore'), '*\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

export async function writeLocalState(state: LocalStackState, path = LOCAL_STATE_FILE): Promise<void> {
  await makeLocalDir(path);
  await writeFile(path, `${JSON.stringify(state, null, 2)}\n`);
}

export async function readLocalState(path = LOCAL_STATE_FILE): Promise<LocalStackState> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LocalStackState;
  } catch {
    throw new Error(
      `No running local stack found (${path}): start one with offload dev (npm start in the offload repository).`,
    );
  }
}

export const removeLocalState = (path = LOCAL_STATE_FILE): Promise<void> => rm(path, { force: true });
