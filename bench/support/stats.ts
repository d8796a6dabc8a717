/**
 * Small statistics for the benchmark figures.
 *
 * @module
 */

/** The p-th percentile (0-100) of samples, by nearest rank; NaN when empty. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** A number with a fixed count of decimals, or "-" when it is not finite. */
export function fixed(value: number, decimals = 2): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : "-";
}
