import { ZgError, firstLine } from "../errors";

/** Prints a command's result: a human summary, or with `--json` one JSON document for scripts. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`,
    );
  } else {
    process.stdout.write(`${human()}\n`);
  }
}

/** Reports a failure as one line (or one JSON object with `--json`) on stderr and sets a non-zero exit. */
export function reportFailure(json: boolean, error: unknown): void {
  const message = error instanceof ZgError ? error.message : firstLine(error);
  const code = error instanceof ZgError ? error.code : "ZG_ERROR";
  if (json) process.stderr.write(`${JSON.stringify({ error: message, code })}\n`);
  else process.stderr.write(`zg: ${message}\n`);
  if (process.env.ZG_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}

/** Aligned `label  value` lines. */
export function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}
