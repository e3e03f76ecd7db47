import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONSOLE_PATHS } from '../../infra/local/ops-console.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import { apiUrl, submit, waitForTask } from './api-client.js';

/** Debian's chromium (.ci/run installs it); `npx playwright install` cannot download browsers on these machines. */
const CHROMIUM = '/usr/bin/chromium';
const deployed = Boolean(process.env.API_URL);
const haveChromium = existsSync(CHROMIUM);
// CI must run it (.ci/run installs chromium); a developer machine without chromium skips it, saying why.
const skipReason = deployed
  ? 'the console is served by the local stack only (API_URL is set)'
  : !haveChromium && !process.env.CI
    ? `no ${CHROMIUM}: install it with \`apt-get install -y chromium\` to run the console browser test`
    : undefined;
if (skipReason) console.warn(`Skipping the console browser test: ${skipReason}.`);

/** Where `npm run docs:console` keeps the README's screenshot. */
const SCREENSHOT = process.env.CONSOLE_SCREENSHOT;

interface ConsoleState {
  metrics: { totals: Record<string, number>; series: { counts: Record<string, number[]> } };
  tasks: { recentFailures: Array<{ taskId: string; error?: { code: string } }> };
}

const state = async (): Promise<ConsoleState> =>
  (await fetch(`${apiUrl}${CONSOLE_PATHS.state}`)).json() as Promise<ConsoleState>;

/** The number a card of the page shows. */
const cardValue = async (page: Page, testId: string) =>
  Number(await page.getByTestId(testId).locator('.value').textContent());

describe.skipIf(skipReason !== undefined)('local console in a browser', () => {
  let browser: Browser;
  let page: Page;
  let before: ConsoleState;
  let failedTaskId: string;

  beforeAll(async () => {
    before = await state();
    const submitted = await Promise.all([
      ...Array.from({ length: 4 }, (_, n) => submit({ type: 'echo', payload: { n } })),
      submit({ type: 'sleep', payload: { ms: 200 } }),
      ...(inject('diagnosticTasks')
        ? [submit({ type: 'fail', payload: { code: 'ConsoleCheck', message: 'failed on purpose' } })]
        : []),
    ]);
    for (const { status } of submitted) expect(status).toBe(202);
    const finished = await Promise.all(submitted.map(({ body }) => waitForTask(body.taskId)));
    failedTaskId = finished.find((task) => task.status === 'FAILED')?.taskId ?? '';
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 60_000);
  afterAll(() => browser?.close());

  it('is served at /console without a token', async () => {
    const response = await page.goto(`${apiUrl}${CONSOLE_PATHS.page}`);
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toMatch(/local console/);
  });

  it('counts the tasks the functions reported, from their metrics', async () => {
    await page.getByTestId(`total-${TASK_COUNTS.succeeded}`).waitFor();
    // Other e2e files share the stack: the counts grow by at least what this file submitted.
    await expect
      .poll(() => cardValue(page, `total-${TASK_COUNTS.submitted}`), { timeout: 10_000 })
      .toBeGreaterThanOrEqual((before.metrics.totals[TASK_COUNTS.submitted] ?? 0) + 5);
    await expect
      .poll(() => cardValue(page, `total-${TASK_COUNTS.succeeded}`), { timeout: 10_000 })
      .toBeGreaterThanOrEqual((before.metrics.totals[TASK_COUNTS.succeeded] ?? 0) + 5);
  });

  it('draws the throughput and queue depth charts', async () => {
    for (const chart of ['#throughput-chart', '#queue-chart']) {
      await page.locator(`${chart} canvas`).waitFor();
      const box = await page.locator(`${chart} canvas`).boundingBox();
      expect(box?.width).toBeGreaterThan(200);
    }
    const succeededSeries = (await state()).metrics.series.counts[TASK_COUNTS.succeeded] ?? [];
    expect(succeededSeries.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
    await expect(page.locator('#throughput-chart .u-legend').textContent()).resolves.toContain('Succeeded');
  });

  it.skipIf(!inject('diagnosticTasks'))('lists a failed task with its error code', async () => {
    const row = page.getByTestId('task-row').filter({ hasText: failedTaskId });
    await row.waitFor({ timeout: 10_000 });
    await expect(row.textContent()).resolves.toContain('ConsoleCheck');
  });

  it.skipIf(!SCREENSHOT || !inject('diagnosticTasks'))(
    'saves a screenshot for the README',
    { timeout: 60_000 },
    async () => {
      const path = SCREENSHOT as string;
      // A few waves of work fill the charts; the last task outlives the e2e worker timeout, so it is still
      // running (or queued for a retry) with its progress when the picture is taken.
      for (let wave = 0; wave < 3; wave += 1) {
        await Promise.all([
          ...Array.from({ length: 4 + 3 * wave }, (_, n) => submit({ type: 'echo', payload: { wave, n } })),
          submit({ type: 'sleep', payload: { ms: 600 } }),
          submit({ type: 'fail', payload: { code: wave === 1 ? 'QuotaExceeded' : 'InvalidInput', message: 'demo' } }),
        ]);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
      const running = await submit({ type: 'sleep', payload: { ms: 10_000 } });
      await page.getByTestId('task-row').filter({ hasText: running.body.taskId }).locator('.bar').waitFor();
      mkdirSync(dirname(path), { recursive: true });
      await page.screenshot({ path, fullPage: true });
      expect(existsSync(path)).toBe(true);
    },
  );
});
