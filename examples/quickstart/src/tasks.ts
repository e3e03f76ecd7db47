import { defineTask, PermanentError, z } from 'offload/tasks';
import { salesReport } from './sales-report.js';

/** The task module: offload dev runs it locally, the Offload construct deploys it. */
export const taskTypes = {
  salesReport: defineTask({
    payload: z.strictObject({
      month: z.string().check(z.regex(/^\d{4}-(0[1-9]|1[0-2])$/)),
      lines: z.array(
        z.strictObject({
          sku: z.string().check(z.minLength(1)),
          quantity: z.int().check(z.positive()),
          unitPriceCents: z.int().check(z.nonnegative()),
        }),
      ),
    }),
    maxAttempts: 2,
    run: async ({ month, lines }, { progress, signal }) => {
      // A report of the future can never succeed: fail at once instead of retrying.
      if (month > new Date().toISOString().slice(0, 7)) {
        throw new PermanentError('MonthNotOver', `${month} has not happened yet.`);
      }
      return salesReport(month, lines, progress, signal);
    },
  }),
};
