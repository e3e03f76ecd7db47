import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoScheduleStore } from '../../shared/aws/dynamo-schedule-store.js';
import type { ScheduleStore } from '../../shared/ports.js';
import type { Schedule } from '../../shared/schedule.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { InMemoryScheduleStore } from '../support/in-memory-schedule-store.js';
import { type LostReplies, loseReplies } from '../support/lost-replies.js';

/**
 * The ScheduleStore contract, for the in-memory fake the unit tests trust and DynamoScheduleStore on
 * dynalite, writes also with their reply lost and retried by the SDK.
 */
interface Harness {
  readonly store: ScheduleStore;
  loseNext(operation: 'PutItem' | 'DeleteItem'): void;
  clear(): void;
  stop(): Promise<void>;
}

const inMemory = async (): Promise<Harness> => ({
  store: new InMemoryScheduleStore(),
  loseNext: () => {},
  clear: () => {},
  stop: async () => {},
});

async function onDynalite(): Promise<Harness> {
  const aws: EmulatedAws = await startEmulatedAws();
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint: aws.endpoints.dynamodb,
  });
  const replies: LostReplies = loseReplies(client);
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    store: new DynamoScheduleStore(documents, aws.resources.scheduleTableName),
    loseNext: (operation) => replies.loseNext(operation),
    clear: () => replies.clear(),
    async stop() {
      client.destroy();
      await aws.stop();
    },
  };
}

const schedule = (overrides: Partial<Schedule> = {}): Schedule => ({
  ownerId: `jwt:${randomUUID()}`,
  name: 'nightly',
  expression: 'cron(0 2 * * ? *)',
  timezone: 'Europe/Berlin',
  task: { type: 'echo', payload: { report: 'daily' } },
  enabled: true,
  createdAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
  timingSetAt: '2026-11-30T10:00:00.000Z',
  lastWriteId: randomUUID(),
  ...overrides,
});

describe.each([
  ['InMemoryScheduleStore', inMemory],
  ['DynamoScheduleStore on dynalite', onDynalite],
])('ScheduleStore contract: %s', (_name, makeHarness) => {
  let harness: Harness;
  let store: ScheduleStore;
  beforeAll(async () => {
    harness = await makeHarness();
    store = harness.store;
  });
  afterAll(() => harness.stop());
  afterEach(() => harness.clear());

  const modes = [
    { lost: false, label: '' },
    { lost: true, label: ', its reply lost and retried' },
  ] as const;

  it.each(modes)('creates a schedule and reads it back$label', async ({ lost }) => {
    const given = schedule();
    if (lost) harness.loseNext('PutItem');

    expect(await store.create(given)).toBe('created');
    expect(await store.get(given.ownerId, given.name)).toEqual(given);
  });

  it('refuses a second schedule of the same owner and name, keeping the first', async () => {
    const first = schedule();
    await store.create(first);

    expect(await store.create({ ...first, expression: 'rate(1 hour)', lastWriteId: randomUUID() })).toBe('exists');
    expect((await store.get(first.ownerId, first.name))?.expression).toBe(first.expression);
  });

  it('keeps two owners who use the same name apart', async () => {
    const alice = schedule({ name: 'shared-name' });
    const bob = schedule({ name: 'shared-name', expression: 'rate(5 minutes)' });

    expect(await store.create(alice)).toBe('created');
    expect(await store.create(bob)).toBe('created');
    expect((await store.get(alice.ownerId, 'shared-name'))?.expression).toBe(alice.expression);
    expect((await store.get(bob.ownerId, 'shared-name'))?.expression).toBe(bob.expression);
    expect(await store.get('jwt:nobody', 'shared-name')).toBeUndefined();
  });

  it.each(modes)('replaces a schedule only while it is as the caller read it$label', async ({ lost }) => {
    const given = schedule();
    await store.create(given);
    const changed = { ...given, enabled: false, lastWriteId: randomUUID() };
    if (lost) harness.loseNext('PutItem');

    expect(await store.replace(changed, given.lastWriteId ?? '')).toBe(true);
    expect(await store.replace({ ...given, lastWriteId: randomUUID() }, given.lastWriteId ?? '')).toBe(false);
    expect((await store.get(given.ownerId, given.name))?.enabled).toBe(false);
  });

  it('does not bring back a deleted schedule by replacing it', async () => {
    const given = schedule();
    await store.create(given);
    await store.delete(given.ownerId, given.name);

    expect(await store.replace({ ...given, lastWriteId: randomUUID() }, given.lastWriteId ?? '')).toBe(false);
    expect(await store.get(given.ownerId, given.name)).toBeUndefined();
  });

  it.each(modes)('deletes a schedule and returns it as it was$label', async ({ lost }) => {
    const given = schedule();
    await store.create(given);
    if (lost) harness.loseNext('DeleteItem');

    const deleted = await store.delete(given.ownerId, given.name);

    // A lost reply's retry finds nothing left: the first try's answer is gone with it.
    if (!lost) expect(deleted).toEqual(given);
    expect(await store.get(given.ownerId, given.name)).toBeUndefined();
    expect(await store.delete(given.ownerId, given.name)).toBeUndefined();
  });

  it("discards a schedule only while its latest write is the caller's", async () => {
    const mine = schedule();
    const changed = schedule();
    await store.create(mine);
    await store.create(changed);
    await store.replace({ ...changed, enabled: false, lastWriteId: randomUUID() }, changed.lastWriteId ?? '');

    await store.discard(mine.ownerId, mine.name, mine.lastWriteId ?? '');
    await store.discard(changed.ownerId, changed.name, changed.lastWriteId ?? '');
    await store.discard('jwt:nobody', 'none', 'none');

    expect(await store.get(mine.ownerId, mine.name)).toBeUndefined();
    expect(await store.get(changed.ownerId, changed.name)).toBeDefined();
  });

  it("lists and counts one owner's schedules in name order, a page at a time", async () => {
    const ownerId = `jwt:${randomUUID()}`;
    for (const name of ['c', 'a', 'b', 'd', 'e']) await store.create(schedule({ ownerId, name }));
    await store.create(schedule({ name: 'a' }));

    const names: string[] = [];
    let cursor: Record<string, string> | undefined;
    let pages = 0;
    do {
      const page = await store.list(ownerId, { limit: 2, cursor });
      names.push(...page.schedules.map((s) => s.name));
      expect(page.schedules.every((s) => s.ownerId === ownerId)).toBe(true);
      cursor = page.cursor as Record<string, string> | undefined;
      pages++;
    } while (cursor && pages < 10);

    expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await store.count(ownerId)).toBe(5);
    expect(await store.count(`jwt:${randomUUID()}`)).toBe(0);
  });
});
