import path from "node:path";
import type { ZgChain } from "../core/chain";
import { RangeLogReader } from "../core/log-range";
import type { ModuleManifest } from "../core/module";
import { zgHome } from "../core/paths";
import { TraceEngine, type TraceSource } from "../core/trace";
import { MODULES } from "../modules";

export interface TraceEngineSettings {
  /** The widest `eth_getLogs` range (the reader narrows it further when the endpoint refuses). */
  maxBlockRange?: number;
  /** Keep the read logs in ZG_HOME between runs (default true). */
  cache?: boolean;
}

/** Every module's trace source, in list order (a module without one simply adds nothing). */
export async function traceSources(modules: readonly ModuleManifest[] = MODULES): Promise<TraceSource[]> {
  const sources = await Promise.all(modules.map((module) => module.trace?.()));
  return sources.filter((source): source is TraceSource => source !== undefined);
}

/**
 * A trace engine for the chain's deployment: its reader starts at the block the registry was deployed in (from the
 * deployment record, else found by bisecting on the registry's code) and caches under ZG_HOME/trace-cache.
 */
export async function openTraceEngine(
  chain: ZgChain,
  settings: TraceEngineSettings = {},
  modules: readonly ModuleManifest[] = MODULES,
): Promise<TraceEngine> {
  const reader = new RangeLogReader({
    provider: chain.provider,
    startBlock: await chain.deploymentStart(),
    maxBlockRange: settings.maxBlockRange,
    // Local chains do not reorg; elsewhere the last dozen blocks are read again each time.
    confirmations: chain.chainId === 31337 ? 0 : 12,
    cacheFile:
      settings.cache === false
        ? undefined
        : path.join(zgHome(), "trace-cache", `${chain.chainId}-${chain.registryAddress.toLowerCase()}.json`),
  });
  return new TraceEngine({ chain, reader, sources: await traceSources(modules) });
}
