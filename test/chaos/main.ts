import { parseArgs } from 'node:util';
import { chaosPassed, DEFAULT_CHAOS, runChaos } from './run-chaos.js';

const { values } = parseArgs({ options: { tasks: { type: 'string' } } });
const tasks = Number(values.tasks ?? DEFAULT_CHAOS.tasks);
if (!Number.isInteger(tasks) || tasks < 1) {
  console.error(`--tasks must be a positive whole number, got ${values.tasks}`);
  process.exit(2);
}

console.error(
  `chaos: ${tasks} tasks with SDK faults and lost replies, crashed and dropped invocations, poison batches, duplicates, cancels and redrives…`,
);
// One owner's tasks run 5 at a time: a larger run needs longer to settle.
const report = await runChaos({
  ...DEFAULT_CHAOS,
  tasks,
  settleTimeoutMs: Math.max(DEFAULT_CHAOS.settleTimeoutMs, tasks * 250),
});
const passed = chaosPassed(report);
const idle = Object.entries(report.paths).filter(([, n]) => n === 0);
const broken = Object.entries(report.violations).filter(([, n]) => n > 0);
console.error(`by status: ${JSON.stringify(report.byStatus)}; executions: ${report.executions}`);
if (broken.length > 0) console.error(`chaos: violations: ${broken.map(([name, n]) => `${name} ${n}`).join(', ')}`);
if (idle.length > 0)
  console.error(
    `chaos: paths that never ran (the run proves nothing about them): ${idle.map(([name]) => name).join(', ')}`,
  );
console.error(passed ? 'chaos: every accepted task ended exactly once, every path ran' : 'chaos: FAILED');
console.log(JSON.stringify(report));
process.exit(passed ? 0 : 1);
