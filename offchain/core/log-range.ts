import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { JsonRpcProvider, Log } from "ethers";
import { ZgError, firstLine } from "./errors";

/** A log as the cache keeps it: what decoding and ordering need, nothing more. */
export interface CachedLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  transactionHash: string;
  index: number;
}

interface ContractCache {
  /** The topic0 set the logs were read with (a different set reads again from the start). */
  topics: string[];
  /** The last block read (only blocks at least `confirmations` deep are cached). */
  scannedTo: number;
  logs: CachedLog[];
}

interface CacheFile {
  version: 1;
  /** A block the cache was read up to and its hash: another chain (or a devnet started again) discards it. */
  anchor?: { block: number; hash: string };
  contracts: Record<string, ContractCache>;
  blockTimes: Record<string, number>;
  senders: Record<string, string>;
}

export interface RangeLogReaderOptions {
  provider: JsonRpcProvider;
  /** The first block any contract of the deployment can have logged in. */
  startBlock: number;
  /** The widest range asked in one `eth_getLogs`; halved, down to one block, when the endpoint refuses a range. */
  maxBlockRange?: number;
  /** Blocks a log must be buried under before it is cached (the rest is read again next time). */
  confirmations?: number;
  /** Where the cache survives between runs (a JSON file); in memory only when absent. */
  cacheFile?: string;
}

/** The endpoint-side refusals that mean "ask for fewer blocks", as the common RPC providers word them. */
const RANGE_REFUSAL =
  /range|too many|limited to|exceed|too large|too wide|block.*(span|window)|query returned more than|response size/i;

/**
 * Reads the logs of a set of contracts over the whole deployment in bounded block ranges, and keeps what it read:
 * a second read asks the endpoint only for blocks it has not seen. A range the endpoint refuses (most public RPCs
 * cap `eth_getLogs` at a few thousand blocks or results) is split in two until it passes, so the reader works
 * against an endpoint whose limit it does not know. Block times and transaction senders are cached alike.
 */
export class RangeLogReader {
  private cache: CacheFile;
  private range: number;
  private checked: Promise<void> | undefined;
  /** `eth_getLogs` calls made, for tests and the bench. */
  calls = 0;

  constructor(private readonly options: RangeLogReaderOptions) {
    this.range = Math.max(1, options.maxBlockRange ?? 10_000);
    this.cache = loadCache(options.cacheFile);
  }

  /** Every log of `address` whose topic0 is one of `topics`, oldest first, up to block `head`. */
  async logs(address: string, topics: string[], head: number): Promise<CachedLog[]> {
    this.checked ??= this.checkAnchor();
    await this.checked;
    const key = address.toLowerCase();
    const wanted = [...topics].sort();
    let entry = this.cache.contracts[key];
    if (!entry || entry.topics.join() !== wanted.join()) {
      entry = { topics: wanted, scannedTo: this.options.startBlock - 1, logs: [] };
      this.cache.contracts[key] = entry;
    }
    const safe = head - (this.options.confirmations ?? 0);
    const fresh: CachedLog[] = [];
    for (let from = entry.scannedTo + 1; from <= head;) {
      const to = Math.min(head, from + this.range - 1);
      const logs = await this.read(address, wanted, from, to);
      // Cached only below the confirmation depth: a reorg can still replace what is above it.
      for (const log of logs) (log.blockNumber <= safe ? entry.logs : fresh).push(log);
      if (to <= safe) entry.scannedTo = to;
      else if (from <= safe) entry.scannedTo = safe;
      from = to + 1;
    }
    return [...entry.logs, ...fresh];
  }

  /** The unix times of these blocks, each asked once (the requests go out in one JSON-RPC batch). */
  async blockTimes(blocks: number[]): Promise<Map<number, number>> {
    const missing = [...new Set(blocks)].filter((block) => this.cache.blockTimes[block] === undefined);
    await Promise.all(
      missing.map(async (block) => {
        const header = await this.options.provider.getBlock(block);
        if (!header) throw new ZgError(`block ${block} is not available from the RPC endpoint`, "NETWORK");
        this.cache.blockTimes[block] = header.timestamp;
      }),
    );
    return new Map(blocks.map((block) => [block, this.cache.blockTimes[block]]));
  }

  /** The sender of each transaction, each asked once. */
  async senders(hashes: string[]): Promise<Map<string, string>> {
    const missing = [...new Set(hashes)].filter((hash) => this.cache.senders[hash] === undefined);
    await Promise.all(
      missing.map(async (hash) => {
        const tx = await this.options.provider.getTransaction(hash);
        if (!tx) throw new ZgError(`transaction ${hash} is not available from the RPC endpoint`, "NETWORK");
        this.cache.senders[hash] = tx.from;
      }),
    );
    return new Map(hashes.map((hash) => [hash, this.cache.senders[hash]]));
  }

  /** Writes the cache file (atomically), when there is one. */
  async save(): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    const block = Math.max(
      this.options.startBlock,
      ...Object.values(this.cache.contracts).map((c) => c.scannedTo),
    );
    const header = await this.options.provider.getBlock(block);
    if (header?.hash) this.cache.anchor = { block, hash: header.hash };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(this.cache));
    renameSync(`${file}.tmp`, file);
  }

  private async checkAnchor(): Promise<void> {
    const anchor = this.cache.anchor;
    if (!anchor) return;
    const header = await this.options.provider.getBlock(anchor.block);
    if (header?.hash !== anchor.hash) this.cache = { version: 1, contracts: {}, blockTimes: {}, senders: {} };
  }

  /** One range, split in halves while the endpoint refuses it; the narrower width is kept for what follows. */
  private async read(address: string, topics: string[], from: number, to: number): Promise<CachedLog[]> {
    let logs: Log[];
    try {
      this.calls += 1;
      logs = await this.options.provider.getLogs({ address, topics: [topics], fromBlock: from, toBlock: to });
    } catch (error) {
      if (to === from || !RANGE_REFUSAL.test(refusalText(error))) throw error;
      const middle = from + Math.floor((to - from) / 2);
      this.range = Math.max(1, middle - from + 1);
      return [
        ...(await this.read(address, topics, from, middle)),
        ...(await this.read(address, topics, middle + 1, to)),
      ];
    }
    return logs.map((log) => ({
      address: log.address,
      topics: [...log.topics],
      data: log.data,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
      index: log.index,
    }));
  }
}

/** What an endpoint said when it refused a call: ethers keeps the JSON-RPC error's own message inside its error. */
function refusalText(error: unknown): string {
  const nested = (error as { error?: { message?: unknown } }).error?.message;
  return `${firstLine(error)} ${typeof nested === "string" ? nested : ""}`;
}

function loadCache(file: string | undefined): CacheFile {
  const empty: CacheFile = { version: 1, contracts: {}, blockTimes: {}, senders: {} };
  if (!file || !existsSync(file)) return empty;
  try {
    const read = JSON.parse(readFileSync(file, "utf8")) as CacheFile;
    return read.version === 1 ? read : empty;
  } catch {
    // A torn or foreign file is only a cache: start again.
    return empty;
  }
}
