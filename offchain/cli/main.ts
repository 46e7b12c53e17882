import { buildProgram } from "./program";

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`zg: ${String((error as Error)?.message ?? error)}\n`);
    process.exitCode = 1;
  });
