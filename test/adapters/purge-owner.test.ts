import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeOwnerObjects } from '../../infra/ops/purge-owner-objects.js';
import { purgeOwnerTasks } from '../../infra/ops/purge-owner-tasks.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { taskFactory } from '../support/factories.js';

let aws: EmulatedAws;
beforeAll(async () => {
  aws = await startEmulatedAws();
});
afterAll(() => aws.stop());

async function seed(ownerId: string, count: number): Promise<string[]> {
  const tasks = Array.from({ length: count }, () => taskFactory({ ownerId }));
  for (const task of tasks)
    await aws.documents.send(new PutCommand({ TableName: aws.resources.tableName, Item: task }));
  return tasks.map((task) => task.taskId);
}

const exists = async (taskId: string) =>
  (await aws.documents.send(new GetCommand({ TableName: aws.resources.tableName, Key: { taskId } }))).Item !==
  undefined;

describe('purgeOwnerTasks against dynalite', () => {
  it('lists the owner’s tasks in a dry run and deletes nothing', async () => {
    const mine = await seed('jwt:dry-run', 3);

    const listed = await purgeOwnerTasks(aws.documents, aws.resources.tableName, 'jwt:dry-run', { dryRun: true });

    expect(listed.sort()).toEqual([...mine].sort());
    for (const taskId of mine) expect(await exists(taskId)).toBe(true);
  });

  it('deletes every task of the owner, over several index pages and write batches, and no one else’s', async () => {
    const mine = await seed('jwt:leaver', 60);
    const theirs = await seed('jwt:stayer', 3);
    const pages: number[] = [];

    const purged = await purgeOwnerTasks(aws.documents, aws.resources.tableName, 'jwt:leaver', {
      pageSize: 27,
      onPage: (ids) => pages.push(ids.length),
    });

    expect(purged.sort()).toEqual([...mine].sort());
    expect(pages).toEqual([27, 27, 6]);
    for (const taskId of mine) expect(await exists(taskId)).toBe(false);
    for (const taskId of theirs) expect(await exists(taskId)).toBe(true);
    expect(await purgeOwnerTasks(aws.documents, aws.resources.tableName, 'jwt:leaver')).toEqual([]);
  });
});

describe('purgeOwnerObjects against fauxqs', () => {
  const put = (key: string) =>
    aws.s3.send(new PutObjectCommand({ Bucket: aws.resources.taskDataBucket, Key: key, Body: 'x' }));
  const listed = async (prefix: string) =>
    (
      (await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.resources.taskDataBucket, Prefix: prefix })))
        .Contents ?? []
    ).map((object) => object.Key);

  it('deletes every object under the owner’s hash, over several pages, and no one else’s', async () => {
    const mine = Array.from({ length: 7 }, (_, i) => `aaaaaaaaaaaaaaaa/task-${i}/payload-0.json`);
    const theirs = ['aaaaaaaaaaaaaaab/task-0/payload-0.json', 'bbbbbbbbbbbbbbbb/task-0/1/result.json'];
    for (const key of [...mine, ...theirs]) await put(key);
    const pages: number[] = [];

    const dry = await purgeOwnerObjects(aws.s3, aws.resources.taskDataBucket, 'aaaaaaaaaaaaaaaa', { dryRun: true });
    const purged = await purgeOwnerObjects(aws.s3, aws.resources.taskDataBucket, 'aaaaaaaaaaaaaaaa', {
      pageSize: 3,
      onPage: (keys) => pages.push(keys.length),
    });

    expect(dry.sort()).toEqual([...mine].sort());
    expect(purged.sort()).toEqual([...mine].sort());
    expect(pages).toEqual([3, 3, 1]);
    expect(await listed('aaaaaaaaaaaaaaaa/')).toEqual([]);
    expect((await listed('')).sort()).toEqual([...theirs].sort());
  });
});
