import path from "node:path";
import type { JsonRpcProvider } from "ethers";
import type { ZgChain } from "../core/chain";
import { readDeployment } from "../core/deployments";
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
  const record = readDeployment(chain.chainId);
  const startBlock =
    record && record.registry.toLowerCase() === chain.registryAddress.toLowerCase()
      ? record.startBlock
      : await deployBlock(chain.provider, chain.registryAddress);
  const reader = new RangeLogReader({
    provider: chain.provider,
    startBlock,
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

/** The first block where `address` has code: a bisection over the chain's history (about 25 calls). */
async function deployBlock(provider: JsonRpcProvider, address: string): Promise<number> {
  let low = 0;
  let high = await provider.getBlockNumber();
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if ((await provider.getCode(address, middle)) === "0x") low = middle + 1;
    else high = middle;
  }
  return low;
}
