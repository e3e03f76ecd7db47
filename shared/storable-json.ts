import type { $RefinementCtx } from 'zod/v4/core';

/**
 * DynamoDB stores at most 32 levels of nested attributes, and the task item is the first of them.
 * Checked here because AWS refuses a deeper item with a ValidationException (a 500 if it got that
 * far), while dynalite accepts it: only a check of our own makes local and AWS agree.
 */
export const MAX_PAYLOAD_DEPTH = 31;
const MAX_ISSUES = 10;
/** DynamoDB numbers: magnitudes below 1e-130 underflow; the SDK refuses integers it cannot hold exactly. */
const SMALLEST_MAGNITUDE = 1e-130;

/**
 * A zod refinement for a JSON value that will be stored as a DynamoDB map: every problem becomes an
 * issue whose path names the offending member, so the caller gets a 400 with `details` instead of
 * the table's error. Iterative, so a value nested thousands of levels deep cannot overflow the stack.
 */
export function checkStorableJson(value: unknown, ctx: $RefinementCtx): void {
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  let issues = 0;
  const addIssue = (path: (string | number)[], message: string) => {
    issues++;
    ctx.addIssue({ code: 'custom', path, message });
  };
  // A few examples tell the caller what to fix; thousands would only make the error huge.
  while (pending.length > 0 && issues < MAX_ISSUES) {
    const { value: current, path } = pending.pop() as (typeof pending)[number];
    if (typeof current === 'number') {
      const magnitude = Math.abs(current);
      if (magnitude > Number.MAX_SAFE_INTEGER) {
        addIssue(path, 'numbers beyond ±(2^53 - 1) cannot be stored exactly: send a string');
      } else if (magnitude !== 0 && magnitude < SMALLEST_MAGNITUDE) {
        addIssue(path, 'numbers closer to 0 than 1e-130 cannot be stored: send a string');
      }
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (path.length >= MAX_PAYLOAD_DEPTH) {
      addIssue(path, `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
      continue;
    }
    for (const [key, member] of Object.entries(current)) {
      pending.push({ value: member, path: [...path, Array.isArray(current) ? Number(key) : key] });
    }
  }
}
