/** One measured figure, as `npm run bench` writes it to bench/results.json and bench/RESULTS.md. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same quantity for the anchor the issue names, measured in the same run (or quoted, as its name says). */
  anchor?: { name: string; value: number; unit: string };
}

/** The `p`-th percentile of `values` (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}
