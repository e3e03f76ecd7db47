import { randomUUID } from 'node:crypto';
import type {
  OwnerSlots,
  RateDecision,
  SlotLease,
  SlotResult,
  SubmitRate,
  SubmitRateLimiter,
  Waiter,
} from '../../shared/fair-share.js';

type Method = 'acquire' | 'enlist' | 'withdraw' | 'release' | 'take';

/**
 * OwnerSlots and SubmitRateLimiter with the semantics of DynamoFairShare (held to them by the contract
 * in test/adapters/fair-share-contract.test.ts), in Maps. Hand-written: no library fakes a port of ours.
 */
export class InMemoryFairShare implements OwnerSlots, SubmitRateLimiter {
  /** pool → holder → slot. */
  readonly pools = new Map<string, Map<string, { lease: number; writeId: string }>>();
  readonly windows = new Map<string, number>();
  /** pool → its waiters by task id. */
  readonly waiting = new Map<string, Map<string, Waiter>>();
  private readonly failures: Array<{ method: Method; error: unknown }> = [];

  /** The next call of `method` throws `error`. */
  failNext(method: Method, error: unknown): this {
    this.failures.push({ method, error });
    return this;
  }

  async acquire(pool: string, holder: string, limit: number, now: Date, leaseExpiresAtMs: number): Promise<SlotResult> {
    this.throwInjected('acquire');
    const slots = this.pools.get(pool) ?? new Map();
    this.pools.set(pool, slots);
    const nowMs = now.getTime();
    const own = slots.get(holder);
    if (own && own.lease > nowMs) return { acquired: false, reason: 'held', freeAtMs: own.lease };
    const live = [...slots].filter(([name, slot]) => name !== holder && slot.lease > nowMs);
    if (live.length >= limit) {
      return { acquired: false, reason: 'full', freeAtMs: Math.min(...live.map(([, slot]) => slot.lease)) };
    }
    const writeId = randomUUID();
    this.pools.set(pool, new Map([...live, [holder, { lease: leaseExpiresAtMs, writeId }]]));
    return { acquired: true, lease: { pool, holder, writeId } };
  }

  async enlist(pool: string, waiter: Waiter): Promise<void> {
    this.throwInjected('enlist');
    const line = this.waiting.get(pool) ?? new Map<string, Waiter>();
    line.set(waiter.taskId, { ...waiter });
    this.waiting.set(pool, line);
  }

  async withdraw(pool: string, waiter: Waiter): Promise<void> {
    this.throwInjected('withdraw');
    this.waiting.get(pool)?.delete(waiter.taskId);
  }

  async release(lease: SlotLease): Promise<Waiter | undefined> {
    this.throwInjected('release');
    const slots = this.pools.get(lease.pool);
    if (slots?.get(lease.holder)?.writeId === lease.writeId) slots.delete(lease.holder);
    const line = this.waiting.get(lease.pool);
    const [oldest] = [...(line?.values() ?? [])].sort((a, b) => a.since - b.since || a.taskId.localeCompare(b.taskId));
    if (oldest) line?.delete(oldest.taskId);
    return oldest;
  }

  async take(owner: string, count: number, rate: SubmitRate, now: Date): Promise<RateDecision> {
    this.throwInjected('take');
    const windowMs = rate.windowSeconds * 1000;
    const window = Math.floor(now.getTime() / windowMs);
    const key = `${owner}#${rate.windowSeconds}#${window}`;
    const used = this.windows.get(key) ?? 0;
    if (used + count > rate.maxTasks) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - now.getTime()) / 1000)),
      };
    }
    this.windows.set(key, used + count);
    return { allowed: true };
  }

  /** Holders of `pool` whose lease is live at `nowMs`. */
  holders(pool: string, nowMs: number): string[] {
    return [...(this.pools.get(pool) ?? [])].filter(([, slot]) => slot.lease > nowMs).map(([holder]) => holder);
  }

  private throwInjected(method: Method): void {
    const index = this.failures.findIndex((failure) => failure.method === method);
    if (index >= 0) throw this.failures.splice(index, 1)[0]?.error;
  }
}
