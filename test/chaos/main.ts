import { parseArgs } from 'node:util';
import { DEFAULT_CHAOS, runChaos } from './run-chaos.js';

const { values } = parseArgs({ options: { tasks: { type: 'string' } } });
const tasks = Number(values.tasks ?? DEFAULT_CHAOS.tasks);
if (!Number.isInteger(tasks) || tasks < 1) {
  console.error(`--tasks must be a positive whole number, got ${values.tasks}`);
  process.exit(2);
}

console.error(`chaos: ${tasks} tasks with SDK faults, worker crashes, duplicate deliveries and cancellations…`);
const report = await runChaos({ ...DEFAULT_CHAOS, tasks });
const failed = report.lost > 0 || report.stuck > 0 || report.doubleEffects > 0 || report.keysWithManyTasks > 0;
console.error(`by status: ${JSON.stringify(report.byStatus)}; executions: ${report.executions}`);
console.error(failed ? 'chaos: an invariant FAILED' : 'chaos: every accepted task ended exactly once');
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
