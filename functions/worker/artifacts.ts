import { PermanentError } from '../../shared/errors.js';
import type { Log } from '../../shared/ports.js';
import type { StoredArtifact, Task } from '../../shared/task.js';
import { artifactNameProblem, isValidContentType, type TaskData, taskDataKeys } from '../../shared/task-data.js';
import type { TaskArtifacts } from '../tasks/define-task.js';

/** One attempt's files: the handler's `ctx.artifacts`, and what the worker does with them afterwards. */
export interface AttemptArtifacts {
  readonly api: TaskArtifacts;
  /** Waits for the puts the handler started (a put that failed is not listed: its handler saw the error). */
  settle(): Promise<void>;
  /** The files stored, in the order first written. */
  stored(): StoredArtifact[];
  /** Deletes every file this attempt stored (retry, cancel, lost task); best effort. */
  discard(): Promise<void>;
}

const invalid = (message: string) => new PermanentError('InvalidArtifact', message);

/**
 * `ctx.artifacts` of one attempt. Names are checked before anything is written (no `..`, no control
 * characters, no path), and keys carry the attempt, so a retried or superseded attempt never
 * overwrites the files of the attempt that finishes the task.
 */
export function attemptArtifacts(
  task: Pick<Task, 'taskId' | 'attempt' | 'ownerHash'>,
  deps: { readonly taskData?: TaskData; readonly log: Log },
): AttemptArtifacts {
  const files = new Map<string, StoredArtifact>();
  const pending = new Set<Promise<void>>();

  const write = async (name: string, data: string | Uint8Array, contentType: string): Promise<void> => {
    const { taskData } = deps;
    if (!taskData || !task.ownerHash) {
      throw invalid('This deployment has no task data bucket: artifacts cannot be stored.');
    }
    const problem = artifactNameProblem(name);
    if (problem) throw invalid(problem);
    if (!isValidContentType(contentType)) throw invalid(`"${contentType.slice(0, 60)}" is not a content type.`);
    if (!files.has(name) && files.size >= taskData.limits.maxArtifacts) {
      throw invalid(`A task may write at most ${taskData.limits.maxArtifacts} artifacts.`);
    }
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (body.byteLength > taskData.limits.maxObjectBytes) {
      throw invalid(`Artifact "${name}" has ${body.byteLength} bytes; at most ${taskData.limits.maxObjectBytes}.`);
    }
    const file = {
      name,
      key: taskDataKeys.artifact(task.ownerHash, task.taskId, task.attempt, name),
      size: body.byteLength,
      contentType,
    };
    // Listed before the write, so a discard waits for it and deletes what it may have left.
    files.set(name, file);
    try {
      await taskData.blobs.put(file.key, body, contentType);
    } catch (error) {
      // One PUT stores all or nothing: the failed file is not the task's (unless written again since).
      if (files.get(name) === file) files.delete(name);
      throw error;
    }
  };

  return {
    api: {
      put(name, data, contentType = 'application/octet-stream') {
        const done = write(name, data, contentType);
        // Handled here, so a put the handler does not await cannot crash the process; an awaiting handler still gets the error.
        const settled = done.then(
          () => undefined,
          () => undefined,
        );
        pending.add(settled);
        void settled.then(() => pending.delete(settled));
        return done;
      },
    },
    async settle() {
      await Promise.all(pending);
    },
    stored: () => [...files.values()],
    async discard() {
      await Promise.all(pending);
      const keys = [...files.values()].map((file) => file.key);
      if (keys.length === 0 || !deps.taskData) return;
      try {
        await deps.taskData.blobs.delete(keys);
      } catch (error) {
        deps.log.warn('could not delete an attempt’s artifacts; they expire with the bucket', {
          taskId: task.taskId,
          attempt: task.attempt,
          error,
        });
      }
    },
  };
}
