import type { GlobalOptions } from "../core/cli/context";
import { withChain } from "../core/cli/command";
import { parseCount } from "../core/cli/inputs";
import { printResult } from "../core/cli/output";
import { traceMermaid, traceText } from "../core/trace-render";
import { openTraceEngine } from "../explorer/engine";

export interface TraceOptions extends GlobalOptions {
  depth: string;
  mermaid?: boolean;
  maxRange?: string;
  cache: boolean;
}

/** `zg trace <thing>`: the history of anything, from chain events, as text, JSON or Mermaid. */
export async function runTrace(options: TraceOptions, input: string): Promise<void> {
  const depth = parseCount(options.depth, "depth");
  const maxBlockRange =
    options.maxRange === undefined ? undefined : parseCount(options.maxRange, "max range");
  const trace = await withChain(options, false, async (chain) =>
    (await openTraceEngine(chain, { maxBlockRange, cache: options.cache })).trace(input, depth),
  );
  if (options.mermaid && !options.json) process.stdout.write(`${traceMermaid(trace)}\n`);
  else printResult(Boolean(options.json), trace, () => traceText(trace));
}
