/**
 * Fair share under load (settings.fairness): the ports of the per-owner limits and the rules both sides of
 * them share. Their state lives in the fair-share table (shared/aws/dynamo-fair-share.ts), keyed by the
 * owner's group (shared/owner-group.ts), never by the owner id.
 */

/** A submit rate limit: at most `maxTasks` per owner in each fixed window of `windowSeconds`. */
export interface SubmitRate {
  readonly maxTasks: number;
  readonly windowSeconds: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Per-owner submit allowances. */
export interface SubmitRateLimiter {
  /**
   * Takes `count` submits from `owner`'s allowance in the window that holds `now`, all or none: a batch
   * is admitted whole or refused whole. Refused: when the window ends. A write whose reply was lost and
   * that the SDK retried counts once.
   */
  take(owner: string, count: number, rate: SubmitRate, now: Date): Promise<RateDecision>;
}

/** What `acquire` found: a slot taken for the holder, or why not and when to look again. */
export type SlotResult =
  | { readonly acquired: true; readonly lease: SlotLease }
  | {
      readonly acquired: false;
      /** `full`: `limit` live leases hold the pool; `held`: a live lease of this very holder does. */
      readonly reason: 'full' | 'held';
      /** Epoch ms by which a slot frees for certain: the earliest live lease's end (the holder's own, if held). */
      readonly freeAtMs: number;
    };

/** A slot held: what its release needs, so that only this acquisition can give it back. */
export interface SlotLease {
  readonly pool: string;
  readonly holder: string;
  readonly writeId: string;
}

/**
 * Concurrency slots: at most `limit` holders per pool, each slot a lease that ends on its own. A worker
 * that crashes or whose reply is lost cannot leak a slot: the lease ends, and the next acquire prunes it.
 * Beside the slots, a short list of waiters: whoever gives a slot back wakes one of them, so a waiting
 * task need not poll often to start soon after a slot frees.
 */
export interface OwnerSlots {
  /**
   * Takes a slot of `pool` for `holder` (a task id) until `leaseExpiresAtMs`, if fewer than `limit` live
   * leases hold the pool; leases ended by `now` count as free. One conditional write (a read and a second
   * write when it must prune), which recognises its own earlier success after a lost reply.
   */
  acquire(pool: string, holder: string, limit: number, now: Date, leaseExpiresAtMs: number): Promise<SlotResult>;
  /**
   * Puts `waiter` (see {@link waiterOf}) on the pool's list of waiters, unless `capacity` others are on it;
   * being on it twice is being on it once.
   */
  enlist(pool: string, waiter: string, capacity: number): Promise<void>;
  /**
   * Gives the slot back (a slot already gone, released before or pruned after its lease, is fine) and
   * takes one waiter off the list, if there is one: the caller wakes it. Two callers may wake the same
   * waiter: a spare message is harmless.
   */
  release(lease: SlotLease): Promise<string | undefined>;
}

/** A waiter as the list holds it: enough to send its task's message again. */
export const waiterOf = (taskId: string, type: string): string => `${taskId}|${type}`;

/** The task id and type of a waiter from the list; undefined for anything else. */
export function parseWaiter(waiter: string): { readonly taskId: string; readonly type: string } | undefined {
  const [taskId, type, ...rest] = waiter.split('|');
  return taskId && type && rest.length === 0 ? { taskId, type } : undefined;
}

/** The owner's group a pool belongs to (see {@link slotPool}). */
export const groupOfPool = (pool: string): string => pool.split('/')[0] ?? pool;

/** Waiters a pool lists: twice its slots (each release wakes one), and at least a few. */
export const waitersFor = (limit: number): number => Math.max(10, 2 * limit);

/**
 * The pool a task's slot comes from: its owner's, or its owner's for its type when the type has a limit of
 * its own (defineTask `maxRunningPerOwner`), so a type with its own limit does not take the owner's slots.
 */
export const slotPool = (ownerGroup: string, type: string, ownLimit: boolean): string =>
  ownLimit ? `${ownerGroup}/${type}` : ownerGroup;

/**
 * How long a message waits, its task QUEUED, before it looks for a slot again: exponential from 2 s with
 * full jitter (waiters spread out instead of all coming back when the first slot frees), up to
 * `maxSeconds` (settings.fairness.ownerConcurrency.maxWaitSeconds). A release wakes a listed waiter sooner.
 */
export function slotWaitSeconds(waits: number, maxSeconds: number, random: () => number = Math.random): number {
  const ceiling = Math.max(1, Math.min(maxSeconds, 2 ** Math.min(waits, 20)));
  return 1 + Math.floor(random() * ceiling);
}

/** Key schema of the fair-share table, shared by the CDK construct, the local stack and the adapter. */
export const FAIR_SHARE_TABLE = { partitionKey: 'pk', ttlAttribute: 'expiresAt' } as const;
