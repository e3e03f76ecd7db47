import { randomUUID } from 'node:crypto';
import type { ListCursor, SchedulePage, ScheduleStore } from '../../shared/ports.js';
import type { Schedule } from '../../shared/schedule.js';

const keyOf = (ownerId: string, name: string) => `${ownerId}\n${name}`;
const copy = <T>(value: T): T => structuredClone(value);

/**
 * ScheduleStore with the conditional semantics of DynamoScheduleStore, held in a Map, items in and
 * out as deep copies. Held to the same contract as the adapter (test/adapters/schedule-store-contract.test.ts).
 */
export class InMemoryScheduleStore implements ScheduleStore {
  private readonly items = new Map<string, Schedule>();
  private readonly failures: unknown[] = [];

  constructor(schedules: readonly Schedule[] = []) {
    for (const schedule of schedules) this.items.set(keyOf(schedule.ownerId, schedule.name), copy(schedule));
  }

  /** The next call of any method throws `error` (a table that cannot be reached). */
  failNext(error: unknown): void {
    this.failures.push(error);
  }

  async create(schedule: Schedule): Promise<'created' | 'exists'> {
    this.maybeFail();
    const key = keyOf(schedule.ownerId, schedule.name);
    if (this.items.has(key)) return 'exists';
    this.items.set(key, copy({ ...schedule, lastWriteId: schedule.lastWriteId ?? randomUUID() }));
    return 'created';
  }

  async get(ownerId: string, name: string): Promise<Schedule | undefined> {
    this.maybeFail();
    const item = this.items.get(keyOf(ownerId, name));
    return item && copy(item);
  }

  async replace(schedule: Schedule, expectedWriteId: string): Promise<boolean> {
    this.maybeFail();
    const key = keyOf(schedule.ownerId, schedule.name);
    if (this.items.get(key)?.lastWriteId !== expectedWriteId) return false;
    this.items.set(key, copy({ ...schedule, lastWriteId: schedule.lastWriteId ?? randomUUID() }));
    return true;
  }

  async delete(ownerId: string, name: string): Promise<Schedule | undefined> {
    this.maybeFail();
    const key = keyOf(ownerId, name);
    const item = this.items.get(key);
    this.items.delete(key);
    return item && copy(item);
  }

  async discard(ownerId: string, name: string, writeId: string): Promise<void> {
    this.maybeFail();
    const key = keyOf(ownerId, name);
    if (this.items.get(key)?.lastWriteId === writeId) this.items.delete(key);
  }

  async list(
    ownerId: string,
    options: { readonly limit: number; readonly cursor?: ListCursor },
  ): Promise<SchedulePage> {
    this.maybeFail();
    const after = options.cursor?.name;
    const owned = [...this.items.values()]
      .filter((item) => item.ownerId === ownerId && (after === undefined || item.name > after))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const page = owned.slice(0, options.limit);
    const last = page.at(-1);
    return {
      schedules: page.map(copy),
      ...(owned.length >= options.limit && last && { cursor: { ownerId, name: last.name } }),
    };
  }

  async count(ownerId: string): Promise<number> {
    this.maybeFail();
    return [...this.items.values()].filter((item) => item.ownerId === ownerId).length;
  }

  private maybeFail(): void {
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
  }
}
