/** One measured figure, as `npm run bench` writes it to bench/results.json and bench/RESULTS.md. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same quantity for the anchor the issue names, measured in the same run (or quoted, as its name says). */
  anchor?: { name: string; value: number; unit: string };
}
