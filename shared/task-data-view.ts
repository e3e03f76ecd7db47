import { isTerminal, type Task, TaskStatus, type TaskView, toTaskView } from './task.js';
import type { TaskData } from './task-data.js';

/**
 * The task's view with download URLs for what it keeps in the task data bucket: `resultUrl` for a
 * result too large for the item, a `url` per artifact. Minted on each read (presigning is local
 * computation, no request) and short-lived (`downloadUrlSeconds`), so a URL that leaks stops working
 * soon, and only the owner, who can read the task, gets new ones.
 */
export async function taskViewOf(task: Task, deps: { readonly taskData?: TaskData }): Promise<TaskView> {
  const view = toTaskView(task);
  const { taskData } = deps;
  if (!taskData || !isTerminal(task.status) || (!task.resultRef && !task.artifacts?.length)) return view;
  const expiresInSeconds = taskData.limits.downloadUrlSeconds;
  const resultUrl =
    task.status === TaskStatus.Succeeded && task.resultRef
      ? await taskData.blobs.presignGet(task.resultRef.key, { expiresInSeconds })
      : undefined;
  const artifacts = task.artifacts?.length
    ? await Promise.all(
        task.artifacts.map(async ({ name, size, contentType, key }) => ({
          name,
          size,
          contentType,
          url: await taskData.blobs.presignGet(key, { expiresInSeconds, downloadName: name }),
        })),
      )
    : undefined;
  return { ...view, ...(resultUrl && { resultUrl }), ...(artifacts && { artifacts }) };
}
