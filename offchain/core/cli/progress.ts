/** One step of a long operation: `done` of `total` units of its current phase. */
export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
}

/** A one-line progress bar on stderr when it is a terminal (and not in --json mode); silent otherwise. */
export function progressBar(
  json: boolean,
  labels: Record<string, string> = {},
): { update: (event: ProgressEvent) => void; done(): void } {
  const tty = process.stderr.isTTY && !json;
  let drawn = false;
  return {
    update: (event) => {
      if (!tty) return;
      const width = 30;
      const ratio = event.total > 0 ? Math.min(1, event.done / event.total) : 0;
      const filled = Math.round(ratio * width);
      const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
      process.stderr.write(
        `\r${(labels[event.phase] ?? event.phase).padEnd(24)} ${bar} ${event.done}/${event.total}`,
      );
      drawn = true;
    },
    done: () => {
      if (drawn) process.stderr.write("\n");
    },
  };
}
