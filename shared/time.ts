/** Time arithmetic every part of offload shares, so a unit or a limit is written once. */

export const DAY_SECONDS = 86_400;

/** SQS caps a queue's visibility timeout at 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The longest wait a received message may be given with ChangeMessageVisibility: SQS counts its 12 hours
 * from the receive and refuses more than what is left, and up to a batching window (5 min) and a Lambda
 * timeout (15 min) may have passed since.
 */
export const MAX_VISIBILITY_WAIT_SECONDS = MAX_VISIBILITY_SECONDS - 300 - 900;

/** SQS caps a message's delivery delay at 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

/** Epoch seconds of `date`, as DynamoDB's TTL attribute takes them. */
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** Whole seconds from `nowMs` until `atMs` (epoch milliseconds), rounded up: how SQS takes delays. */
export const secondsUntil = (atMs: number, nowMs: number): number => Math.ceil((atMs - nowMs) / 1000);

/**
 * The SQS delay that waits out what is left until `runAtMs` (a task's delay or backoff), at most SQS's
 * 15 minutes (a duplicate or re-sent message then waits the rest on the claim); undefined when it is due.
 */
export const remainingDelaySeconds = (runAtMs: number | undefined, nowMs: number): number | undefined =>
  runAtMs === undefined || runAtMs <= nowMs ? undefined : Math.min(MAX_DELAY_SECONDS, secondsUntil(runAtMs, nowMs));

/** The `expiresAt` (epoch seconds) of a task kept `ttlDays` from `now`. */
export const expiresAtAfter = (now: Date, ttlDays: number): number => epochSeconds(now) + ttlDays * DAY_SECONDS;
