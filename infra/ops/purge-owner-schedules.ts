import type { ListCursor, ScheduleStore } from '../../shared/ports.js';
import { scheduleResourceName } from '../../shared/schedule.js';

/** What the purge needs of EventBridge Scheduler: deleting a schedule of the deployment's group by name. */
export interface ScheduleDeleter {
  delete(name: string): Promise<void>;
}

export interface PurgeSchedulesOptions {
  /** List what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /** Called with each schedule's name once it is deleted (or, in a dry run, found). */
  readonly onSchedule?: (name: string) => void;
}

const PAGE = 50;

/**
 * Deletes every recurring schedule of `ownerId` (an erasure request): first in Scheduler, so it fires no
 * more, then its record. Without `scheduler` only the records go; a firing that finds no record submits
 * nothing (functions/schedule-fire), so what Scheduler still holds only fires into nothing. Returns the names.
 */
export async function purgeOwnerSchedules(
  store: ScheduleStore,
  scheduler: ScheduleDeleter | undefined,
  ownerId: string,
  options: PurgeSchedulesOptions = {},
): Promise<string[]> {
  const names: string[] = [];
  let cursor: ListCursor | undefined;
  do {
    const page = await store.list(ownerId, { limit: PAGE, cursor });
    names.push(...page.schedules.map((schedule) => schedule.name));
    cursor = page.cursor;
  } while (cursor);
  for (const name of names) {
    if (!options.dryRun) {
      await scheduler?.delete(scheduleResourceName(ownerId, name));
      await store.delete(ownerId, name);
    }
    options.onSchedule?.(name);
  }
  return names;
}
