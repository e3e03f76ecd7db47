/** An order line as the shop's export gives it. */
export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

export interface SalesReport {
  readonly month: string;
  readonly lines: number;
  readonly revenueCents: number;
  /** The best sellers by revenue, at most five. */
  readonly topSkus: readonly { readonly sku: string; readonly revenueCents: number }[];
}

/** Totals a month of order lines, reporting progress every `chunk` lines. */
export async function salesReport(
  month: string,
  lines: readonly OrderLine[],
  progress: (percent: number) => void,
  signal: AbortSignal,
  chunk = 1_000,
): Promise<SalesReport> {
  const bySku = new Map<string, number>();
  let revenueCents = 0;
  for (const [index, line] of lines.entries()) {
    const amount = line.quantity * line.unitPriceCents;
    revenueCents += amount;
    bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + amount);
    if ((index + 1) % chunk === 0) {
      signal.throwIfAborted();
      progress(Math.floor(((index + 1) / lines.length) * 100));
      // Lets the worker notice a cancel or its deadline between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const topSkus = [...bySku]
    .map(([sku, revenue]) => ({ sku, revenueCents: revenue }))
    .sort((a, b) => b.revenueCents - a.revenueCents)
    .slice(0, 5);
  return { month, lines: lines.length, revenueCents, topSkus };
}
