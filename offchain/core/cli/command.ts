import type { Command } from "commander";
import type { ZgChain } from "../chain";
import type { GlobalOptions } from "./context";

/** Runs a command body with the global options, reporting any failure as one line and a non-zero exit. */
export function action<A extends unknown[]>(body: (options: GlobalOptions, ...args: A) => Promise<void>) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = command.optsWithGlobals<GlobalOptions>();
    try {
      await body(options, ...(args.slice(0, -1) as A));
    } catch (error) {
      (await import("./output")).reportFailure(Boolean(options.json), error);
    }
  };
}

/** Connects to the chain the options name (loaded only when a command runs, so `zg --help` stays fast). */
export async function connect(options: GlobalOptions, requireKey = false) {
  return (await import("./context")).connect(options, requireKey);
}

/** Connects as the options say, runs `body` with the connection, and closes it whatever happens. */
export async function withChain<T>(
  options: GlobalOptions,
  requireKey: boolean,
  body: (chain: ZgChain) => Promise<T>,
): Promise<T> {
  const chain = await connect(options, requireKey);
  try {
    return await body(chain);
  } finally {
    chain.destroy();
  }
}
