import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OffloadClient, TaskFailedError } from 'offload';
import type { taskTypes } from '../src/tasks.js';

let dev: ChildProcess;
let client: OffloadClient<typeof taskTypes>;
const dataDir = mkdtempSync(join(tmpdir(), 'quickstart-'));

before(async () => {
  // What `npm run dev` runs: offload dev on this project's task module.
  dev = spawn(
    process.execPath,
    ['node_modules/offload/bin/offload.mjs', 'dev', '--tasks', 'src/tasks.ts', '--port', '0', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  dev.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  for (let waited = 0; waited < 60_000; waited += 100) {
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    const token = /TOKEN=(\S+)/.exec(output)?.[1];
    if (url && token) {
      client = new OffloadClient<typeof taskTypes>({ baseUrl: url, token });
      return;
    }
    if (dev.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`offload dev did not start:\n${output}`);
});

after(() => {
  dev?.kill('SIGINT');
  rmSync(dataDir, { recursive: true, force: true });
});

test('a sales report comes back typed', async () => {
  const task = await client.submit('salesReport', {
    month: '2026-10',
    lines: [
      { sku: 'mug', quantity: 3, unitPriceCents: 1200 },
      { sku: 'tea', quantity: 10, unitPriceCents: 450 },
      { sku: 'mug', quantity: 1, unitPriceCents: 1200 },
    ],
  });
  const report = await task.result({ timeoutMs: 30_000 });
  // `report` is a SalesReport: the compiler checked these field names.
  assert.equal(report.revenueCents, 9300);
  assert.deepEqual(report.topSkus[0], { sku: 'mug', revenueCents: 4800 });
});

test('a report of the future fails at once, with its code', async () => {
  const task = await client.submit('salesReport', { month: '2999-01', lines: [] });
  await assert.rejects(task.result({ timeoutMs: 30_000 }), (error: unknown) => {
    assert.ok(error instanceof TaskFailedError);
    assert.equal(error.code, 'MonthNotOver');
    return true;
  });
});
