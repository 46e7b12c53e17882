import type { GlobalOptions } from "../core/cli/context";
import { connect } from "../core/cli/command";
import { ZgError } from "../core/errors";
import { openTraceEngine } from "../explorer/engine";
import { Explorer } from "../explorer/server";

export interface ExplorerOptions extends GlobalOptions {
  host: string;
  port: string;
}

/** `zg explorer`: serves the explorer for the chain the options name until SIGINT or SIGTERM. */
export async function runExplorer(options: ExplorerOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ZgError(`port '${options.port}' is not a TCP port`, "BAD_INPUT");
  const chain = await connect(options);
  try {
    const explorer = new Explorer(chain, await openTraceEngine(chain));
    const server = await explorer.listen(options.host, port).catch((error: NodeJS.ErrnoException) => {
      throw new ZgError(
        `cannot listen on ${options.host}:${port} (${error.code ?? error.message})`,
        "BAD_INPUT",
      );
    });
    process.stdout.write(`explorer for chain ${chain.chainId} at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
  } finally {
    chain.destroy();
  }
}
